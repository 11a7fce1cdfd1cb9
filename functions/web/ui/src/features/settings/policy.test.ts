import { describe, expect, it } from "vitest";
import { everyInWords, minutesInWords, recipientsHint, type AccountPolicy } from "../../api/policy";
import { cleanDomains, describePolicy, policyChanged, policyDraft, policyInput } from "./policy";

const policy = (domains: string[], minutes = 15): AccountPolicy => ({
  allowed_recipient_domains: domains,
  min_schedule_interval_minutes: minutes,
  updated_at: null,
  updated_by: null,
  version: 0,
});

describe("the account policy form", () => {
  it("sends domains as typed, cleaned, and the minimum; nothing while the minimum is empty", () => {
    expect(policyInput({ domains: [" @Acme.com", "acme.com", "eu.acme.com", " "], minutes: 30 })).toEqual({
      allowed_recipient_domains: ["acme.com", "eu.acme.com"],
      min_schedule_interval_minutes: 30,
    });
    expect(policyInput({ domains: [], minutes: "" })).toBeUndefined();
    expect(cleanDomains(["B.com", "b.com", "@@c.org"])).toEqual(["b.com", "c.org"]);
  });

  it("knows when the form differs from the policy read", () => {
    const p = policy(["acme.com"], 15);
    expect(policyChanged(policyDraft(p), p)).toBe(false);
    expect(policyChanged({ domains: ["ACME.com"], minutes: 15 }, p)).toBe(false);
    expect(policyChanged({ domains: ["acme.com", "b.io"], minutes: 15 }, p)).toBe(true);
    expect(policyChanged({ domains: ["acme.com"], minutes: 5 }, p)).toBe(true);
    expect(policyChanged({ domains: [], minutes: 15 }, p)).toBe(true);
  });

  it("says the policy in words to those who cannot change it", () => {
    expect(describePolicy(policy([]))).toEqual({
      reports: "Run reports can be emailed to any address.",
      schedules: "A schedule runs at most every 15 minutes.",
    });
    expect(describePolicy(policy(["acme.com", "b.io"], 60)).reports).toBe("Run reports can be emailed only to addresses at acme.com, b.io (subdomains included).");
    expect(describePolicy(policy([], 60)).schedules).toBe("A schedule runs at most every hour.");
  });
});

describe("the policy where people type recipients and frequencies", () => {
  it("writes intervals as people say them", () => {
    expect(minutesInWords(1)).toBe("1 minute");
    expect(minutesInWords(15)).toBe("15 minutes");
    expect(minutesInWords(90)).toBe("90 minutes");
    expect(minutesInWords(120)).toBe("2 hours");
    expect(minutesInWords(1440)).toBe("1 day");
    expect(everyInWords(1)).toBe("every minute");
    expect(everyInWords(15)).toBe("every 15 minutes");
    expect(everyInWords(60)).toBe("every hour");
    expect(everyInWords(2880)).toBe("every 2 days");
  });

  it("names the allowed domains under the recipients, or says nothing when any address may get reports", () => {
    expect(recipientsHint(policy([]))).toBeUndefined();
    expect(recipientsHint(undefined)).toBeUndefined();
    expect(recipientsHint(policy(["acme.com"]))).toBe("Your admins allow reports only to addresses at acme.com (or its subdomains).");
    expect(recipientsHint(policy(["a.com", "b.com", "c.com"]))).toBe("Your admins allow reports only to addresses at a.com, b.com or c.com (or their subdomains).");
  });
});
