// The frequency builder gives EventBridge Scheduler the expressions it takes: rate with the
// unit's number matching the value; cron with six fields, exactly one day field `?`.
import { describe as group, expect, it } from "vitest";
import { describe, problem, toExpression, withKind, type Frequency } from "./frequency";

/** EventBridge's cron rules, as far as the builder can break them. */
function expectValidCron(expression: string) {
  const m = /^cron\((.*)\)$/.exec(expression);
  expect(m, expression).not.toBeNull();
  const fields = (m?.[1] ?? "").split(" ");
  expect(fields, expression).toHaveLength(6);
  const [minute, hour, dom, month, dow, year] = fields as [string, string, string, string, string, string];
  expect([dom === "?", dow === "?"].filter(Boolean), `${expression}: exactly one of day-of-month and day-of-week is ?`).toHaveLength(1);
  expect(Number(minute)).toBeGreaterThanOrEqual(0);
  expect(Number(minute)).toBeLessThanOrEqual(59);
  expect(Number(hour)).toBeGreaterThanOrEqual(0);
  expect(Number(hour)).toBeLessThanOrEqual(23);
  expect(month).toBe("*");
  expect(year).toBe("*");
  if (dow !== "?" && dow !== "*") expect(dow).toMatch(/^(MON|TUE|WED|THU|FRI|SAT|SUN)(,(MON|TUE|WED|THU|FRI|SAT|SUN))*$/);
  if (dom !== "?" && dom !== "*") expect(dom).toMatch(/^(L|[1-9]|[12]\d|3[01])$/);
}

group("each frequency gives its exact expression", () => {
  it.each<[Frequency, string, string]>([
    [{ kind: "every", n: 1, unit: "minutes" }, "rate(1 minute)", "Every minute"],
    [{ kind: "every", n: 15, unit: "minutes" }, "rate(15 minutes)", "Every 15 minutes"],
    [{ kind: "every", n: 1, unit: "hours" }, "rate(1 hour)", "Every hour"],
    [{ kind: "every", n: 6, unit: "hours" }, "rate(6 hours)", "Every 6 hours"],
    [{ kind: "every", n: 1, unit: "days" }, "rate(1 day)", "Every day"],
    [{ kind: "every", n: 3, unit: "days" }, "rate(3 days)", "Every 3 days"],
    [{ kind: "daily", time: "09:00" }, "cron(0 9 * * ? *)", "Every day at 09:00"],
    [{ kind: "daily", time: "17:45" }, "cron(45 17 * * ? *)", "Every day at 17:45"],
    [{ kind: "daily", time: "00:05" }, "cron(5 0 * * ? *)", "Every day at 00:05"],
    [{ kind: "weekly", days: ["MON"], time: "08:30" }, "cron(30 8 ? * MON *)", "Every Monday at 08:30"],
    [{ kind: "weekly", days: ["FRI", "MON", "WED"], time: "07:00" }, "cron(0 7 ? * MON,WED,FRI *)", "Every Monday, Wednesday and Friday at 07:00"],
    [{ kind: "weekly", days: ["SUN", "SAT"], time: "23:59" }, "cron(59 23 ? * SAT,SUN *)", "Every Saturday and Sunday at 23:59"],
    [{ kind: "monthly", day: 1, time: "06:00" }, "cron(0 6 1 * ? *)", "On the 1st of every month at 06:00"],
    [{ kind: "monthly", day: 22, time: "12:15" }, "cron(15 12 22 * ? *)", "On the 22nd of every month at 12:15"],
    [{ kind: "monthly", day: "last", time: "18:00" }, "cron(0 18 L * ? *)", "On the last day of every month at 18:00"],
  ])("%j → %s", (frequency, expression, words) => {
    expect(toExpression(frequency)).toBe(expression);
    expect(describe(frequency)).toBe(words);
    if (expression.startsWith("cron")) expectValidCron(expression);
  });
});

group("an incomplete frequency gives no expression, and says why", () => {
  it.each<[Frequency, string]>([
    [{ kind: "every", n: 0, unit: "minutes" }, "Enter a whole number, 1 or more."],
    [{ kind: "every", n: 1.5, unit: "hours" }, "Enter a whole number, 1 or more."],
    [{ kind: "every", n: 2_000_000, unit: "days" }, "At most 1,000,000."],
    [{ kind: "daily", time: "" }, "Enter a time as HH:MM."],
    [{ kind: "daily", time: "24:00" }, "Enter a time as HH:MM."],
    [{ kind: "weekly", days: [], time: "09:00" }, "Pick at least one day."],
    [{ kind: "monthly", day: 0, time: "09:00" }, "Pick a day from 1 to 31."],
  ])("%j", (frequency, why) => {
    expect(toExpression(frequency)).toBeUndefined();
    expect(problem(frequency)).toBe(why);
  });
});

group("switching kind", () => {
  it("keeps the time and gives a complete frequency of the new kind", () => {
    const weekly = withKind({ kind: "daily", time: "10:30" }, "weekly");
    expect(weekly).toEqual({ kind: "weekly", days: ["MON"], time: "10:30" });
    expect(withKind(weekly, "monthly")).toEqual({ kind: "monthly", day: 1, time: "10:30" });
    expect(toExpression(withKind(weekly, "every"))).toBe("rate(1 hour)");
  });
});
