"""Participants: who takes part, their profiles, and how they join, pause and leave."""
