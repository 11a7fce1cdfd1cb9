// The When tab's schedule logic: the API's refusal lands at the input it names, fire times
// read in the schedule's zone, and a second save is an update only when something changed.
import { describe, expect, it } from "vitest";
import { ApiError } from "../../../api/problem";
import { fireTimes, previewKey, sameDraft, scheduleProblems, updateInput, type Schedule, type ScheduleDraft } from "./schedule";

const refusal = (errors: { pointer: string; detail: string }[]) => new ApiError(400, { type: "about:blank", title: "Invalid request", status: 400, detail: "", errors });

describe("the API's refusal, by input", () => {
  it("puts the preview's `timezone` at the time zone and `expression` at the frequency", () => {
    const e = refusal([
      { pointer: "expression", detail: "rate value 0 is not allowed" },
      { pointer: "timezone", detail: 'unknown time zone "Mars/Olympus" (expected an IANA name such as Europe/London)' },
    ]);
    expect(scheduleProblems(e)).toEqual({
      expression: "rate value 0 is not allowed",
      timezone: 'unknown time zone "Mars/Olympus" (expected an IANA name such as Europe/London)',
    });
  });

  it("reads a schedule save's body pointers the same way", () => {
    expect(scheduleProblems(refusal([{ pointer: "/timezone", detail: "bad zone" }]))).toEqual({ timezone: "bad zone" });
  });

  it("leaves other problems, and anything that is not a problem, alone", () => {
    expect(scheduleProblems(refusal([{ pointer: "/mode", detail: "no" }]))).toEqual({});
    expect(scheduleProblems(new Error("offline"))).toEqual({});
    expect(scheduleProblems(undefined)).toEqual({});
  });
});

describe("fire times", () => {
  const next = ["2026-12-07T07:30:00Z", "2026-06-05T06:30:00Z"];

  // Exact punctuation varies with the ICU version: the test holds what a reader relies on.
  it("are written in the schedule's zone, summer time included", () => {
    const [winter, summer] = fireTimes(next, "Europe/Berlin", "en-GB");
    expect(winter).toMatch(/^Monday,? 7 December 2026 at 08:30$/);
    expect(summer).toMatch(/^Friday,? 5 June 2026 at 08:30$/);
    expect(fireTimes(next, "America/New_York", "en-US")).toEqual([
      expect.stringMatching(/^Monday, December 7, 2026 at 2:30\sAM$/),
      expect.stringMatching(/^Friday, June 5, 2026 at 2:30\sAM$/),
    ]);
  });

  it("follow the person's locale", () => {
    expect(fireTimes(next.slice(0, 1), "Europe/Berlin", "de-DE")[0]).toMatch(/^Montag, 7\. Dezember 2026 um 08:30$/);
  });

  it("keep one cache entry per expression and zone", () => {
    expect(previewKey("rate(1 hour)", "UTC")).not.toEqual(previewKey("rate(1 hour)", "Europe/Berlin"));
    expect(previewKey("rate(1 hour)", "UTC")).toEqual(previewKey("rate(1 hour)", "UTC"));
  });
});

describe("saving a schedule twice", () => {
  const draft: ScheduleDraft = { mode: "preview", expression: "cron(30 8 ? * MON,FRI *)", timezone: "Europe/Berlin", notify: undefined };

  it("is no change when nothing the tab sends differs", () => {
    expect(sameDraft(draft, { ...draft })).toBe(true);
    expect(sameDraft({ ...draft, notify: { recipients: ["a@x.com"] } }, { ...draft, notify: { recipients: ["a@x.com"], subject: "" } })).toBe(true);
  });

  it("is a change when the frequency, zone, mode or report differs", () => {
    expect(sameDraft(draft, { ...draft, expression: "cron(0 9 * * ? *)" })).toBe(false);
    expect(sameDraft(draft, { ...draft, timezone: "UTC" })).toBe(false);
    expect(sameDraft(draft, { ...draft, mode: "apply" })).toBe(false);
    expect(sameDraft(draft, { ...draft, notify: { recipients: ["a@x.com"] } })).toBe(false);
  });

  it("updates with what the tab does not edit kept as stored", () => {
    const current = { paused: true, reserve_percent: 25 } as Schedule;
    expect(updateInput(current, "T1", { ...draft, notify: { recipients: ["ops@x.com"] } })).toEqual({
      template_id: "T1",
      mode: "preview",
      expression: "cron(30 8 ? * MON,FRI *)",
      timezone: "Europe/Berlin",
      paused: true,
      reserve_percent: 25,
      notify: { recipients: ["ops@x.com"] },
    });
    expect(updateInput(current, "T1", draft).notify).toBeNull();
  });
});
