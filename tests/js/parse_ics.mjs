// Parse .ics files with ical.js (an independent iCalendar implementation) and print, as JSON,
// what a calendar client would take from each VEVENT. Usage: node parse_ics.mjs FILE...
// Exits 1 with a message on stderr if a file does not parse.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

function address(value) {
  return String(value || "").replace(/^mailto:/i, "");
}

function describe(path) {
  const text = readFileSync(path, "utf8");
  const calendar = new ICAL.Component(ICAL.parse(text));
  const events = calendar.getAllSubcomponents("vevent").map((vevent) => {
    const event = new ICAL.Event(vevent);
    const organizer = vevent.getFirstProperty("organizer");
    return {
      uid: event.uid,
      sequence: event.sequence,
      status: vevent.getFirstPropertyValue("status"),
      summary: event.summary,
      description: event.description,
      dtstart: event.startDate.toJSDate().toISOString(),
      dtend: event.endDate.toJSDate().toISOString(),
      organizer: organizer
        ? { email: address(organizer.getFirstValue()), cn: organizer.getParameter("cn") ?? null }
        : null,
      attendees: vevent.getAllProperties("attendee").map((attendee) => ({
        email: address(attendee.getFirstValue()),
        cn: attendee.getParameter("cn") ?? null,
        partstat: attendee.getParameter("partstat") ?? null,
        rsvp: attendee.getParameter("rsvp") ?? null,
      })),
    };
  });
  return {
    file: path,
    method: calendar.getFirstPropertyValue("method"),
    events,
  };
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node parse_ics.mjs FILE.ics...");
  process.exit(2);
}
try {
  console.log(JSON.stringify(files.map(describe), null, 2));
} catch (error) {
  console.error(`ical.js could not parse: ${error.message}`);
  process.exit(1);
}
