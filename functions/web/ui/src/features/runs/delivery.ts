// A run's report email as its page tells it: whether it is sent, when, with the CSV attached
// or linked, to whom, and to whom not and why (the account's policy may have changed since
// the run or its schedule was saved).
import type { components } from "../../api/schema";
import { formatTime, isFinal, type Run } from "./logic";

export type RefusedRecipient = components["schemas"]["RefusedRecipient"];

export interface DeliveryView {
  label: string;
  color: string;
  /** One sentence: when, and how the CSV went. */
  summary: string;
  /** Whom the report went to, as the message names them (empty until sent). */
  sentTo: string[];
  /** Whom it is for, while not sent yet. */
  planned: string[];
  refused: RefusedRecipient[];
}

export function deliveryView(run: Pick<Run, "status" | "notify" | "delivery">): DeliveryView | undefined {
  if (!run.notify) return undefined;
  const d = run.delivery;
  const planned = run.notify.recipients;
  if (!d || d.status === "pending") {
    return { label: "Not sent yet", color: "gray", summary: isFinal(run.status) ? "Waiting to be sent." : "Sent when the run ends.", sentTo: [], planned, refused: [] };
  }
  const refused = d.refused ?? [];
  if (d.status === "sending") return { label: "Sending", color: "blue", summary: `Sending (attempt ${d.attempts}).`, sentTo: [], planned, refused };
  if (d.status === "sent") {
    const how = d.attached === true ? " with the CSV attached" : d.attached === false ? " with a link to the CSV (too large to attach)" : "";
    return { label: refused.length ? "Sent to some" : "Sent", color: refused.length ? "orange" : "green", summary: `Sent ${formatTime(d.at)}${how}.`, sentTo: d.recipients ?? [], planned: [], refused };
  }
  const why = d.reason ? `: ${d.reason}` : "";
  const summary = d.attempts > 0 ? `Not delivered after ${d.attempts} attempt${d.attempts === 1 ? "" : "s"}${why}.` : `Not sent${why}.`;
  return { label: "Not sent", color: "red", summary, sentTo: [], planned: [], refused };
}
