// The Notify tab: who gets the run's report (CSV attached) when it ends, with a subject and a
// message; sent as `notify` of POST /runs and of a schedule. When the account's admins limit
// the domains reports may go to, it says which; the API's refusal shows at the field.
import { Stack, TagsInput, Text, TextInput, Textarea } from "@mantine/core";
import { recipientsHint, usePolicy } from "../../../api/policy";
import { errorAt } from "../../../api/problem";
import type { components } from "../../../api/schema";

export interface NotifyDraft {
  recipients: string[];
  subject: string;
  message: string;
}

export const EMPTY_NOTIFY: NotifyDraft = { recipients: [], subject: "", message: "" };

/** What the API takes: nothing when no one is to be told. */
export function notifyInput(d: NotifyDraft): components["schemas"]["NotifyInput"] | undefined {
  if (d.recipients.length === 0) return undefined;
  return {
    recipients: d.recipients,
    ...(d.subject.trim() ? { subject: d.subject.trim() } : {}),
    ...(d.message.trim() ? { message: d.message } : {}),
  };
}

export const NOTIFY_POINTER = /^\/notify(\/|$)/;

export function NotifyFields({ value, onChange, error }: { value: NotifyDraft; onChange: (d: NotifyDraft) => void; error: unknown }) {
  const hint = recipientsHint(usePolicy().data);
  return (
    <Stack gap="sm" maw={640}>
      <Text size="sm" c="dimmed">
        When the run ends, Steward emails its report with the CSV to these people. Leave it empty to send nothing.
      </Text>
      <TagsInput
        label="Recipients"
        description={hint ? `Type an email address and press Enter. ${hint}` : "Type an email address and press Enter"}
        placeholder="ops@example.com"
        value={value.recipients}
        onChange={(recipients) => onChange({ ...value, recipients: recipients.map((r) => r.trim()).filter(Boolean) })}
        splitChars={[",", " ", ";"]}
        error={errorAt(error, "/notify/recipients", true) ?? errorAt(error, "/notify")}
        clearable
      />
      <TextInput
        label="Subject"
        placeholder="Steward: your run's report"
        value={value.subject}
        onChange={(e) => onChange({ ...value, subject: e.currentTarget.value })}
        error={errorAt(error, "/notify/subject")}
      />
      <Textarea
        label="Message"
        autosize
        minRows={3}
        value={value.message}
        onChange={(e) => onChange({ ...value, message: e.currentTarget.value })}
        error={errorAt(error, "/notify/message")}
      />
    </Stack>
  );
}
