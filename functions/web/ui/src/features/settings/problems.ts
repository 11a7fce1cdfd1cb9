// When a form's alert has something to add: field problems shown beside their inputs need
// not be repeated in it.
import { ApiError, unclaimed } from "../../api/problem";

export function needsAlert(error: unknown, claimed: (pointer: string) => boolean): boolean {
  if (!error) return false;
  if (!(error instanceof ApiError) || error.fields.length === 0) return true;
  return unclaimed(error, claimed).length > 0;
}
