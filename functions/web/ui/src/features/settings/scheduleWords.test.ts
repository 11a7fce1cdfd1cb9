import { describe, expect, it } from "vitest";
import { cronInWords, ordinal, rateInWords, scheduleInWords } from "./scheduleWords";

describe("rate() in words", () => {
  it.each([
    ["rate(1 day)", "Every day"],
    ["rate(2 days)", "Every 2 days"],
    ["rate(5 minutes)", "Every 5 minutes"],
    ["rate(1 minute)", "Every minute"],
    ["rate(1 hour)", "Every hour"],
    ["rate(12 hours)", "Every 12 hours"],
    [" rate( 3 Days ) ", "Every 3 days"],
  ])("%s → %s", (expression, words) => {
    expect(rateInWords(expression)).toBe(words);
  });

  it("has no time zone: a rate counts from when the schedule was made", () => {
    expect(scheduleInWords("rate(1 day)", "Europe/Berlin")).toBe("Every day");
  });

  it("is not a rate otherwise", () => {
    expect(rateInWords("rate(1 week)")).toBeUndefined();
    expect(rateInWords("cron(0 9 * * ? *)")).toBeUndefined();
  });
});

describe("cron() in words", () => {
  it.each([
    ["cron(0 9 * * ? *)", "Every day at 09:00"],
    ["cron(30 17 ? * * *)", "Every day at 17:30"],
    ["cron(0 9 ? * MON-FRI *)", "Every weekday (Monday to Friday) at 09:00"],
    ["cron(0 9 ? * 2-6 *)", "Every weekday (Monday to Friday) at 09:00"],
    ["cron(0 8 ? * MON *)", "Every Monday at 08:00"],
    ["cron(0 8 ? * MON,WED,FRI *)", "Every Monday, Wednesday and Friday at 08:00"],
    ["cron(0 10 ? * SAT,SUN *)", "Every Saturday and Sunday at 10:00"],
    ["cron(0 9,17 * * ? *)", "Every day at 09:00 and 17:00"],
    ["cron(0 6 1 * ? *)", "On the 1st of every month at 06:00"],
    ["cron(0 6 1,15 * ? *)", "On the 1st and 15th of every month at 06:00"],
    ["cron(0 6 L * ? *)", "On the last day of every month at 06:00"],
    ["cron(0 6 15W * ? *)", "On the weekday nearest the 15th of every month at 06:00"],
    ["cron(0 9 ? * MON#1 *)", "On the first Monday of every month at 09:00"],
    ["cron(0 9 ? * 6L *)", "On the last Friday of every month at 09:00"],
    ["cron(0 7 1 JAN,JUL ? *)", "On the 1st of the month in January and July at 07:00"],
    ["cron(0 7 * * ? 2027)", "Every day in 2027 at 07:00"],
    ["cron(0/15 * * * ? *)", "Every 15 minutes"],
    ["cron(*/5 * ? * MON-FRI *)", "Every 5 minutes on weekdays"],
    ["cron(0/30 9-17 ? * MON-FRI *)", "Every 30 minutes from 09:00 to 17:59 on weekdays"],
    ["cron(0 * * * ? *)", "Every hour, on the hour"],
    ["cron(15 * ? * TUE *)", "Every hour at 15 minutes past on Tuesdays"],
    ["cron(0 0/2 * * ? *)", "Every 2 hours at 00 minutes past (from 00:00)"],
    ["cron(* * * * ? *)", "Every minute"],
  ])("%s → %s", (expression, words) => {
    expect(cronInWords(expression)).toBe(words);
  });

  it("appends the schedule's time zone", () => {
    expect(scheduleInWords("cron(0 9 * * ? *)", "Europe/Berlin")).toBe("Every day at 09:00 (Europe/Berlin)");
    expect(scheduleInWords("cron(0 9 * * ? *)", null)).toBe("Every day at 09:00 (UTC)");
  });

  it("does not pretend to read what it cannot", () => {
    for (const odd of ["cron(0 9 * *)", "cron(61 9 * * ? *)", "cron(0 25 * * ? *)", "cron(5-20 9 * * ? *)", "cron(0 9 ? * FUN *)", "every day"]) {
      expect(cronInWords(odd), odd).toBeUndefined();
    }
    expect(scheduleInWords("cron(0 9 1 * MON *)", "UTC")).toBe("Custom schedule: cron(0 9 1 * MON *) (UTC)");
  });
});

describe("ordinal", () => {
  it.each([[1, "1st"], [2, "2nd"], [3, "3rd"], [4, "4th"], [11, "11th"], [12, "12th"], [13, "13th"], [21, "21st"], [22, "22nd"], [31, "31st"]])(
    "%i → %s",
    (n, s) => expect(ordinal(n)).toBe(s),
  );
});
