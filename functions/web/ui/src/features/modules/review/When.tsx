// The When tab: run now, or automate on a schedule built from a frequency (never typed as
// cron), in an IANA time zone, with the next fire times and the integration-user warning.
import { useMemo } from "react";
import { Alert, Anchor, Checkbox, Code, Group, List, NumberInput, SegmentedControl, Select, Stack, Text, TextInput } from "@mantine/core";
import { Link } from "react-router";
import { errorAt } from "../../../api/problem";
import type { components } from "../../../api/schema";
import { WEEKDAYS, WEEKDAY_NAMES, describe, problem, timeZones, toExpression, withKind, type Frequency, type FrequencyKind, type RateUnit, type Weekday } from "./frequency";

export type When = "now" | "automate";

export function FrequencyBuilder({ value, onChange, timezone, onTimezone, error }: { value: Frequency; onChange: (f: Frequency) => void; timezone: string; onTimezone: (tz: string) => void; error: unknown }) {
  const zones = useMemo(() => timeZones(), []);
  const expression = toExpression(value);
  const why = problem(value);
  return (
    <Stack gap="sm">
      <Group align="flex-start" gap="sm">
        <Select
          label="Repeat"
          w={220}
          allowDeselect={false}
          value={value.kind}
          onChange={(k) => k && onChange(withKind(value, k as FrequencyKind))}
          data={[
            { value: "every", label: "Every few minutes, hours or days" },
            { value: "daily", label: "Daily" },
            { value: "weekly", label: "Weekly" },
            { value: "monthly", label: "Monthly" },
          ]}
        />
        {value.kind === "every" && (
          <>
            <NumberInput label="Every" min={1} allowDecimal={false} w={110} value={value.n} onChange={(n) => onChange({ ...value, n: typeof n === "number" ? n : 0 })} error={why} />
            <Select
              label="Unit"
              w={130}
              allowDeselect={false}
              value={value.unit}
              onChange={(u) => u && onChange({ ...value, unit: u as RateUnit })}
              data={[
                { value: "minutes", label: "minutes" },
                { value: "hours", label: "hours" },
                { value: "days", label: "days" },
              ]}
            />
          </>
        )}
        {value.kind === "monthly" && (
          <Select
            label="On day"
            w={140}
            allowDeselect={false}
            value={String(value.day)}
            onChange={(d) => d && onChange({ ...value, day: d === "last" ? "last" : Number(d) })}
            data={[...Array.from({ length: 31 }, (_, i) => ({ value: String(i + 1), label: String(i + 1) })), { value: "last", label: "Last day" }]}
            description={typeof value.day === "number" && value.day > 28 ? "Months without it are skipped" : undefined}
          />
        )}
        {value.kind !== "every" && (
          <TextInput label="At" type="time" w={130} value={value.time} onChange={(e) => onChange({ ...value, time: e.currentTarget.value })} error={value.kind === "weekly" && value.days.length === 0 ? undefined : why} />
        )}
        <Select label="Time zone" w={260} searchable allowDeselect={false} data={zones} value={timezone} onChange={(tz) => tz && onTimezone(tz)} error={errorAt(error, "/timezone")} />
      </Group>
      {value.kind === "weekly" && (
        <Checkbox.Group label="On days" value={value.days} onChange={(days) => onChange({ ...value, days: days as Weekday[] })} error={value.days.length === 0 ? why : undefined}>
          <Group gap="md" mt={4}>
            {WEEKDAYS.map((d) => (
              <Checkbox key={d} value={d} label={WEEKDAY_NAMES[d]} />
            ))}
          </Group>
        </Checkbox.Group>
      )}
      <Text size="sm" aria-live="polite">
        {expression ? (
          <>
            <b>{describe(value)}</b>
            {value.kind === "every" ? " (counted from when the schedule is saved)" : ` (${timezone})`} · expression <Code>{expression}</Code>
          </>
        ) : (
          "Finish the frequency to see its schedule."
        )}
      </Text>
      {errorAt(error, "/expression") && (
        <Text c="red" size="sm" role="alert">
          {errorAt(error, "/expression")}
        </Text>
      )}
    </Stack>
  );
}

/** Fire times in the schedule's zone, as the person's locale writes dates. */
export function NextFires({ next, timezone }: { next: string[]; timezone: string }) {
  const fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short", timeZone: timezone });
  if (next.length === 0) return <Text size="sm">No further fire times.</Text>;
  return (
    <List size="sm" aria-label="Next fire times">
      {next.map((t) => (
        <List.Item key={t}>
          <time dateTime={t}>{fmt.format(new Date(t))}</time>
        </List.Item>
      ))}
    </List>
  );
}

export function IntegrationWarning() {
  return (
    <Alert color="orange" title="No integration user is set">
      Automations run as the account's integration user, and none is set, so scheduled runs will be skipped. An owner or admin sets it in{" "}
      <Anchor component={Link} to="/settings/users" c="inherit" fw={700} underline="always">
        Settings → Users
      </Anchor>
      .
    </Alert>
  );
}

export function WhenFields({
  when,
  onWhen,
  frequency,
  onFrequency,
  timezone,
  onTimezone,
  integrationSet,
  saved,
  error,
}: {
  when: When;
  onWhen: (w: When) => void;
  frequency: Frequency;
  onFrequency: (f: Frequency) => void;
  timezone: string;
  onTimezone: (tz: string) => void;
  integrationSet: boolean;
  saved: components["schemas"]["Schedule"] | undefined;
  error: unknown;
}) {
  return (
    <Stack gap="sm">
      <div>
        <Text size="sm" fw={500} id="when-label">
          When
        </Text>
        <SegmentedControl
          aria-labelledby="when-label"
          value={when}
          onChange={(w) => onWhen(w as When)}
          data={[
            { value: "now", label: "Run now" },
            { value: "automate", label: "Automate" },
          ]}
        />
      </div>
      {when === "now" ? (
        <Text size="sm" c="dimmed">
          The run starts as soon as you press Preview or Apply.
        </Text>
      ) : (
        <>
          {!integrationSet && <IntegrationWarning />}
          <FrequencyBuilder value={frequency} onChange={onFrequency} timezone={timezone} onTimezone={onTimezone} error={error} />
          <div>
            <Text size="sm" fw={500}>
              Next five fire times ({saved?.timezone ?? timezone})
            </Text>
            {saved ? <NextFires next={saved.next.slice(0, 5)} timezone={saved.timezone} /> : <Text size="sm" c="dimmed">The next fire times appear once the schedule is saved.</Text>}
          </div>
        </>
      )}
    </Stack>
  );
}
