"""Monthly rounds: snapshot the cohort, match, schedule, invite, follow up."""
