// ical.js's view of an .ics feed, for tests/realclients/harness.py (read its docstring first).
//
//   node icaljs_occurrences.mjs occurrences <HORIZON, e.g. 2026-01-01T00:00:00Z>  < feed.ics
//   node icaljs_occurrences.mjs errors                                             < feed.ics
//
// occurrences: JSON {uid: [start, ...]} for every occurrence whose recurrence instant is before
//   HORIZON; start is "YYYY-MM-DD" (all-day), "YYYY-MM-DDTHH:MM:SSZ" (UTC instant) or the same
//   without "Z" (floating: no zone, the harness refuses it).
// errors: JSON [message, ...] of what ical.js throws while parsing and reading every value.
// Exit 0 = answer on stdout; 1 = ical.js (or the feed) failed, one line on stderr;
// 3 = ical.js not installed; 2 = bad usage.
import { readFileSync } from "node:fs";

const MAX_ITERATIONS = 200000;

class FeedError extends Error {}

async function loadIcal() {
  try {
    return (await import("ical.js")).default;
  } catch (err) {
    process.stderr.write(
      `ical.js cannot be loaded (${err.message}): run scripts/install-test-deps.sh\n`,
    );
    process.exit(3);
  }
}

function pad(n, width = 2) {
  return String(n).padStart(width, "0");
}

function formatStart(ICAL, time) {
  const date = `${pad(time.year, 4)}-${pad(time.month)}-${pad(time.day)}`;
  if (time.isDate) {
    return date;
  }
  const floating = !time.zone || time.zone === ICAL.Timezone.localTimezone;
  const t = floating ? time : time.convertToZone(ICAL.Timezone.utcTimezone);
  const stamp =
    `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}` +
    `T${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)}`;
  return floating ? stamp : `${stamp}Z`;
}

function uidOf(component) {
  const uid = component.getFirstPropertyValue("uid");
  if (!uid) {
    throw new FeedError("a VEVENT has no UID");
  }
  return String(uid);
}

// ical.js resolves a TZID it cannot find as floating time, silently: refuse instead, so a
// missing VTIMEZONE is reported rather than compared as the machine's local time.
function checkTzids(vevent, knownTzids) {
  for (const prop of vevent.getAllProperties()) {
    const tzid = prop.getParameter("tzid");
    if (tzid && !knownTzids.has(tzid)) {
      throw new FeedError(
        `UID ${uidOf(vevent)}: ${prop.name.toUpperCase()} uses TZID=${tzid} ` +
          "but the calendar has no VTIMEZONE with that TZID",
      );
    }
  }
}

function parseCalendar(ICAL, text) {
  const root = new ICAL.Component(ICAL.parse(text));
  if (root.name !== "vcalendar") {
    throw new FeedError(`top-level component is ${root.name.toUpperCase()}, not VCALENDAR`);
  }
  // Known trap: without the VTIMEZONEs registered, TZID times can end up floating.
  const knownTzids = new Set();
  for (const vtimezone of root.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(vtimezone);
    knownTzids.add(String(vtimezone.getFirstPropertyValue("tzid")));
  }
  return { root, knownTzids };
}

function occurrences(ICAL, text, horizonText) {
  const horizon = ICAL.Time.fromDateTimeString(horizonText);
  const { root, knownTzids } = parseCalendar(ICAL, text);
  const masters = new Map();
  const overrides = new Map();
  for (const vevent of root.getAllSubcomponents("vevent")) {
    checkTzids(vevent, knownTzids);
    const uid = uidOf(vevent);
    const rid = vevent.getFirstProperty("recurrence-id");
    if (rid) {
      if (rid.getParameter("range")) {
        throw new FeedError(`UID ${uid}: RECURRENCE-ID;RANGE=... is not supported by the harness`);
      }
      if (!overrides.has(uid)) overrides.set(uid, []);
      overrides.get(uid).push(vevent);
    } else if (masters.has(uid)) {
      throw new FeedError(`UID ${uid}: more than one VEVENT without RECURRENCE-ID`);
    } else {
      masters.set(uid, vevent);
    }
  }
  for (const uid of overrides.keys()) {
    if (!masters.has(uid)) {
      throw new FeedError(`UID ${uid}: RECURRENCE-ID override without its master VEVENT`);
    }
  }

  const result = {};
  for (const [uid, master] of masters) {
    const event = new ICAL.Event(master, { strictExceptions: true });
    const unmatched = new Set(overrides.get(uid) || []);
    for (const override of unmatched) {
      event.relateException(override);
    }
    const starts = [];
    const iterator = event.iterator();
    for (let n = 0; ; n++) {
      if (n >= MAX_ITERATIONS) {
        throw new FeedError(`UID ${uid}: more than ${MAX_ITERATIONS} occurrences before horizon`);
      }
      const next = iterator.next();
      if (!next || next.compare(horizon) >= 0) break;
      const details = event.getOccurrenceDetails(next);
      if (details.item !== event) {
        unmatched.delete(details.item.component);
      }
      starts.push(formatStart(ICAL, details.startDate));
    }
    for (const override of unmatched) {
      const rid = override.getFirstPropertyValue("recurrence-id");
      if (rid.compare(horizon) < 0) {
        throw new FeedError(
          `UID ${uid}: RECURRENCE-ID ${formatStart(ICAL, rid)} matches no occurrence`,
        );
      }
    }
    result[uid] = starts;
  }
  return result;
}

function errors(ICAL, text) {
  const found = [];
  let root;
  try {
    root = parseCalendar(ICAL, text).root;
  } catch (err) {
    return [`ical.js: ${err.message}`];
  }
  // ical.js parses values lazily: read every one so bad dates or rules surface here.
  const visit = (component) => {
    for (const prop of component.getAllProperties()) {
      try {
        prop.getValues();
      } catch (err) {
        const uid = component.getFirstPropertyValue("uid");
        const where = `${component.name.toUpperCase()}${uid ? ` ${uid}` : ""}`;
        found.push(`ical.js: ${where}: ${prop.name.toUpperCase()}: ${err.message}`);
      }
    }
    component.getAllSubcomponents().forEach(visit);
  };
  visit(root);
  return found;
}

async function main() {
  const [mode, horizon] = process.argv.slice(2);
  if (!(mode === "errors" || (mode === "occurrences" && horizon))) {
    process.stderr.write("usage: icaljs_occurrences.mjs occurrences <HORIZON> | errors\n");
    process.exit(2);
  }
  const ICAL = await loadIcal();
  const text = readFileSync(0, "utf8");
  try {
    const answer = mode === "errors" ? errors(ICAL, text) : occurrences(ICAL, text, horizon);
    process.stdout.write(JSON.stringify(answer));
  } catch (err) {
    const message = String(err && err.message ? err.message : err).replace(/\s+/g, " ");
    process.stderr.write(`ical.js: ${message}\n`);
    process.exit(1);
  }
}

await main();
