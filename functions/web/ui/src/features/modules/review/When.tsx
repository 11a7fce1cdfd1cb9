// The When tab: run now, or automate on a schedule built from a frequency (never typed as
// cron), in an IANA time zone, with the next five fire times worked out by the API as the
// frequency changes (a frequency the account's policy refuses is shown at its field), and
// the integration-user warning.
import { useMemo } from "react";
import { Alert, Anchor, Checkbox, Code, Group, List, Loader, NumberInput, SegmentedControl, Select, Stack, Text, TextInput } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { api } from "../../../api/client";
import { everyInWords, usePolicy } from "../../../api/policy";
import { unwrap } from "../../../api/problem";
import { fireTimes, previewKey, scheduleProblems, type Schedule } from "./schedule";
import { WEEKDAYS, WEEKDAY_NAMES, describe, problem, timeZones, toExpression, withKind, type Frequency, type FrequencyKind, type RateUnit, type Weekday } from "./frequency";

export type When = "now" | "automate";

/**
 * The API's next fire times for what the builder shows, asked once the person pauses
 * (300 ms), one cache entry per expression and zone; the last answer stays while the next loads.
 */
export function useSchedulePreview(expression: string | undefined, timezone: string) {
  const [asked] = useDebouncedValue(JSON.stringify([expression ?? "", timezone]), 300);
  const [e, tz] = JSON.parse(asked) as [string, string];
  const query = useQuery({
    queryKey: previewKey(e, tz),
    queryFn: ({ signal }) => unwrap(api.GET("/schedules/preview", { params: { query: { expression: e, timezone: tz } }, signal })),
    enabled: e !== "",
    placeholderData: keepPreviousData,
    staleTime: 60_000,
  });
  const settled = e === (expression ?? "") && tz === timezone;
  return { ...query, settled };
}

/**
 * A narrow field's message may run on under the fields beside it (which have nothing below
 * their inputs) instead of wrapping into a tall column: the API's refusals are sentences.
 */
const WIDE_ERROR = { error: { width: "max-content", maxWidth: "min(34rem, 80vw)" } };

export function FrequencyBuilder({
  value,
  onChange,
  timezone,
  onTimezone,
  problems,
}: {
  value: Frequency;
  onChange: (f: Frequency) => void;
  timezone: string;
  onTimezone: (tz: string) => void;
  /** The API's messages for the expression and the zone (preview or save). */
  problems: { expression?: string; timezone?: string };
}) {
  const zones = useMemo(() => timeZones(), []);
  const expression = toExpression(value);
  const why = problem(value);
  const least = usePolicy().data?.min_schedule_interval_minutes;
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
            <NumberInput label="Every" min={1} allowDecimal={false} w={110} value={value.n} onChange={(n) => onChange({ ...value, n: typeof n === "number" ? n : 0 })} error={why ?? problems.expression} styles={WIDE_ERROR} />
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
          <TextInput label="At" type="time" w={130} value={value.time} onChange={(e) => onChange({ ...value, time: e.currentTarget.value })} error={(value.kind === "weekly" && value.days.length === 0 ? undefined : why) ?? problems.expression} styles={WIDE_ERROR} />
        )}
        <Select label="Time zone" w={260} searchable allowDeselect={false} data={zones} value={timezone} onChange={(tz) => tz && onTimezone(tz)} error={problems.timezone} />
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
      {least !== undefined && (
        <Text size="xs" c="gray.7">
          Schedules in this account run at most {everyInWords(least)} (set by its owner or admins).
        </Text>
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
    </Stack>
  );
}

/** Fire times in the schedule's zone, as the person's locale writes dates. */
export function NextFires({ next, timezone, busy = false }: { next: string[]; timezone: string; busy?: boolean }) {
  if (next.length === 0) return <Text size="sm">No further fire times.</Text>;
  const shown = fireTimes(next, timezone);
  return (
    <List size="sm" aria-label="Next fire times" aria-busy={busy} style={busy ? { opacity: 0.6 } : undefined}>
      {next.map((t, i) => (
        <List.Item key={t}>
          <time dateTime={t}>{shown[i]}</time>
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
  /** The schedule as saved, when what the tab shows is still exactly that. */
  saved: Schedule | undefined;
  error: unknown;
}) {
  const expression = toExpression(frequency);
  const preview = useSchedulePreview(when === "automate" ? expression : undefined, timezone);
  // The preview's refusal is about what is on screen now; a save's, about what was sent.
  const problems = preview.settled && preview.isError ? scheduleProblems(preview.error) : scheduleProblems(error);
  const refused = Boolean(problems.expression ?? problems.timezone);

  let fires: React.ReactNode;
  if (!expression) fires = <Text size="sm">Finish the frequency above to see when it runs.</Text>;
  else if (refused) fires = <Text size="sm">Correct the frequency or time zone above to see when it runs.</Text>;
  else if (saved) fires = <NextFires next={saved.next.slice(0, 5)} timezone={saved.timezone} />;
  else if (preview.data) fires = <NextFires next={preview.data.next.slice(0, 5)} timezone={preview.data.timezone} busy={!preview.settled || preview.isFetching} />;
  else if (preview.isError) fires = <Text size="sm">The next fire times could not be worked out: {preview.error.message}</Text>;
  else
    fires = (
      <Group gap="xs">
        <Loader size="xs" aria-label="Working out the next fire times" />
        <Text size="sm">Working out the next fire times…</Text>
      </Group>
    );

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
          <FrequencyBuilder value={frequency} onChange={onFrequency} timezone={timezone} onTimezone={onTimezone} problems={problems} />
          <section aria-labelledby="next-fires-title" aria-live="polite">
            <Text size="sm" fw={500} id="next-fires-title">
              Next five runs, in {saved?.timezone ?? timezone} time
            </Text>
            {frequency.kind === "every" && !saved && expression && !refused && (
              <Text size="xs" c="dimmed">
                If you save the schedule now. A repeat is counted from the moment it is saved.
              </Text>
            )}
            {fires}
          </section>
        </>
      )}
    </Stack>
  );
}
