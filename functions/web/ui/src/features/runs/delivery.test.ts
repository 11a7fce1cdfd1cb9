import { describe, expect, it } from "vitest";
import { deliveryView } from "./delivery";
import { formatTime, type Run } from "./logic";

type Delivery = NonNullable<Run["delivery"]>;
const notify = { recipients: ["ops@acme.com", "vendor@partner.example"], subject: "Phones", message: null };
const delivery = (over: Partial<Delivery>): Delivery => ({
  status: "sent",
  reason: null,
  message_id: "m1",
  attached: true,
  at: "2026-12-03T10:00:00Z",
  attempts: 1,
  recipients: [],
  refused: [],
  ...over,
});
const run = (d: Delivery | null, status: Run["status"] = "succeeded") => ({ status, notify, delivery: d });

describe("the report email on the run page", () => {
  it("says nothing for a run without a report", () => {
    expect(deliveryView({ status: "succeeded", notify: null, delivery: null })).toBeUndefined();
  });

  it("lists whom it is for until it is sent", () => {
    const v = deliveryView(run(null, "running"));
    expect(v).toMatchObject({ label: "Not sent yet", summary: "Sent when the run ends.", sentTo: [], planned: notify.recipients });
    expect(deliveryView(run(delivery({ status: "pending" })))?.summary).toBe("Waiting to be sent.");
  });

  it("lists whom it went to, when, and whether the CSV was attached or linked", () => {
    const v = deliveryView(run(delivery({ recipients: ["ops@acme.com", "ops@xn--bcher-kva.example"] })));
    expect(v).toMatchObject({ label: "Sent", color: "green", sentTo: ["ops@acme.com", "ops@xn--bcher-kva.example"], planned: [], refused: [] });
    expect(v?.summary).toBe(`Sent ${formatTime("2026-12-03T10:00:00Z")} with the CSV attached.`);
    expect(deliveryView(run(delivery({ attached: false })))?.summary).toContain("with a link to the CSV (too large to attach)");
  });

  it("names the recipients the policy left out, and why", () => {
    const refused = [{ address: "vendor@partner.example", reason: "outside the domains … acme.com" }];
    const some = deliveryView(run(delivery({ recipients: ["ops@acme.com"], refused, reason: "not sent to 1 of 2 recipients: see `refused`" })));
    expect(some).toMatchObject({ label: "Sent to some", color: "orange", sentTo: ["ops@acme.com"], refused });
    const none = deliveryView(run(delivery({ status: "failed", attempts: 0, attached: null, reason: "no recipient may receive it under the account's policy", refused })));
    expect(none).toMatchObject({ label: "Not sent", summary: "Not sent: no recipient may receive it under the account's policy.", refused });
    const failed = deliveryView(run(delivery({ status: "failed", attempts: 4, reason: "SES throttled" })));
    expect(failed?.summary).toBe("Not delivered after 4 attempts: SES throttled.");
  });
});
