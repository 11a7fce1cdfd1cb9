import { describe, expect, it } from "vitest";
import type { Me } from "../../api/session";
import { canChangeSchedule, changedSince, editOf, scheduleInput, timeZones, type Schedule } from "./schedules";

const schedule: Schedule = {
  account_id: "hubspot:1",
  created_at: "2026-01-01T00:00:00Z",
  created_by: "u1",
  created_by_email: "morgan@acme.test",
  expression: "cron(0 9 ? * MON-FRI *)",
  id: "s1",
  last_fire: null,
  mode: "preview",
  module: "merge",
  next: [],
  notify: { recipients: ["ops@acme.test"], subject: "Weekly check", message: "Have a look" },
  paused: true,
  reserve_percent: 25,
  template_id: "t1",
  template_name: "Same email",
  timezone: "Europe/Berlin",
  updated_at: "2026-01-01T00:00:00Z",
  version: 3,
};

const me = (merge: "none" | "read" | "write") =>
  ({ permissions: { merge, bulk: "none", transform: "none", grid: "none", validate: "none" } }) as Me;

describe("who may change a schedule", () => {
  it("needs read on its module for a preview, write for an apply", () => {
    expect(canChangeSchedule(me("read"), schedule)).toBe(true);
    expect(canChangeSchedule(me("read"), { ...schedule, mode: "apply" })).toBe(false);
    expect(canChangeSchedule(me("write"), { ...schedule, mode: "apply" })).toBe(true);
    expect(canChangeSchedule(me("none"), schedule)).toBe(false);
  });
});

describe("an edit's PUT body", () => {
  it("keeps what the dialog does not edit", () => {
    const edit = { ...editOf(schedule), expression: " rate(1 day) ", recipients: ["ops@acme.test", " cfo@acme.test "] };
    expect(scheduleInput(schedule, edit)).toEqual({
      template_id: "t1",
      mode: "preview",
      expression: "rate(1 day)",
      timezone: "Europe/Berlin",
      paused: true,
      reserve_percent: 25,
      notify: { recipients: ["ops@acme.test", "cfo@acme.test"], subject: "Weekly check", message: "Have a look" },
    });
  });

  it("sends no report when every recipient was removed", () => {
    expect(scheduleInput(schedule, { ...editOf(schedule), recipients: [] }).notify).toBeNull();
  });

  it("sees a save by someone else by the version", () => {
    expect(changedSince(schedule, { version: 3 })).toBe(false);
    expect(changedSince(schedule, { version: 4 })).toBe(true);
  });
});

it("offers the schedule's own time zone even when the browser does not know it", () => {
  expect(timeZones("Mars/Olympus")[0]).toBe("Mars/Olympus");
  expect(timeZones()).toContain("UTC");
  expect(timeZones()).toContain("Europe/Berlin");
});
