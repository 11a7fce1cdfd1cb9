// The Activity Tracker (/activity): every run of the account, newest first, filtered by what
// the URL says (so filtered views and report emails' `?run=<id>` links open as sent), a page
// at a time; each row opens its run page and downloads its CSV.
import { memo, useMemo, useState } from "react";
import { Alert, Button, Group, NativeSelect, Paper, Stack, Text, TextInput, Title } from "@mantine/core";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { Link, useSearchParams } from "react-router";
import { api } from "../../api/client";
import { unwrap } from "../../api/problem";
import { can, useMe } from "../../api/session";
import { MODULES, moduleInfo } from "../../app/modules";
import { ProblemAlert } from "../../components/ProblemAlert";
import css from "./runs-table.module.css";
import { runsQuery } from "./query";
import { MODE, STATUS, TRIGGER, formatDuration, formatTime, runDurationMs, type Run } from "../runs";
import { STATUSES, TRIGGERS, filtersFromSearch, filtersToSearch, hasFilters, parseRunId, rangeProblem, type ActivityFilters } from "./filters";

function useMembers() {
  return useQuery({
    queryKey: ["team"],
    queryFn: () => unwrap(api.GET("/team/members")),
    staleTime: 60_000,
    retry: false,
  });
}

export default function ActivityPage() {
  const [search, setSearch] = useSearchParams();
  const filters = useMemo(() => filtersFromSearch(search), [search]);
  const me = useMe();
  const members = useMembers();
  const badRange = rangeProblem(filters);
  const runs = useInfiniteQuery({ ...runsQuery(filters), enabled: !badRange });
  // What the Run ID box shows while typing; the URL holds what was understood.
  const [runText, setRunText] = useState<string | null>(null);

  const set = (patch: Partial<Record<keyof ActivityFilters, string | undefined>>) => {
    const next: Record<string, string | undefined> = { ...filters, ...patch };
    setSearch(filtersToSearch(filtersFromSearch(new URLSearchParams(Object.entries(next).filter((e): e is [string, string] => Boolean(e[1]))))), { replace: true });
  };

  const names = useMemo(() => {
    const m = new Map<string, string>();
    for (const x of members.data?.members ?? []) m.set(x.id, x.name ?? x.email);
    return m;
  }, [members.data]);

  const all = runs.data?.pages.flatMap((p) => p.runs) ?? [];
  const readable = MODULES.filter((m) => can(me.data, m.id, "read"));
  const theRun = filters.run ? all.find((r) => r.id === filters.run) : undefined;

  return (
    <Stack gap="md">
      <div>
        <Title order={2}>Activity Tracker</Title>
        <Text size="sm" c="gray.7">
          Every preview and apply run of your account, newest first. Open a run to see its rows, download its CSV, cancel or revert it.
        </Text>
      </div>

      <Paper withBorder p="md" radius="md" component="form" aria-label="Filters" onSubmit={(e: React.FormEvent) => e.preventDefault()}>
        <Group align="flex-end" gap="sm">
          <TextInput
            label="Run ID"
            placeholder="Paste a Run ID or run link"
            w={300}
            value={runText ?? filters.run ?? ""}
            onChange={(e) => {
              const text = e.currentTarget.value;
              setRunText(text);
              set({ run: text.trim() ? parseRunId(text) : undefined });
            }}
            onBlur={() => setRunText(null)}
          />
          <NativeSelect label="Module" value={filters.module ?? ""} onChange={(e) => set({ module: e.currentTarget.value || undefined })} data={[{ value: "", label: "All modules" }, ...readable.map((m) => ({ value: m.id, label: m.title }))]} />
          {members.data ? (
            <NativeSelect
              label="Member"
              value={filters.member ?? ""}
              onChange={(e) => set({ member: e.currentTarget.value || undefined })}
              data={[
                { value: "", label: "Everyone" },
                ...(filters.member && !names.has(filters.member) ? [{ value: filters.member, label: filters.member }] : []),
                ...members.data.members.map((m) => ({ value: m.id, label: m.name ?? m.email })),
              ]}
            />
          ) : (
            <TextInput label="Member (email)" value={filters.member ?? ""} onChange={(e) => set({ member: e.currentTarget.value || undefined })} />
          )}
          <NativeSelect label="Status" value={filters.status ?? ""} onChange={(e) => set({ status: e.currentTarget.value || undefined })} data={[{ value: "", label: "Any status" }, ...STATUSES.map((s) => ({ value: s, label: STATUS[s].label }))]} />
          <NativeSelect label="Trigger" value={filters.trigger ?? ""} onChange={(e) => set({ trigger: e.currentTarget.value || undefined })} data={[{ value: "", label: "Any trigger" }, ...TRIGGERS.map((t) => ({ value: t, label: TRIGGER[t] }))]} />
          <TextInput type="date" label="From" value={filters.from ?? ""} onChange={(e) => set({ from: e.currentTarget.value || undefined })} error={badRange} />
          <TextInput type="date" label="To" value={filters.to ?? ""} onChange={(e) => set({ to: e.currentTarget.value || undefined })} />
          {hasFilters(filters) && (
            <Button
              variant="subtle"
              onClick={() => {
                setRunText(null);
                setSearch(new URLSearchParams(), { replace: true });
              }}
            >
              Clear filters
            </Button>
          )}
        </Group>
      </Paper>

      {filters.run && theRun && (
        <Alert color="blue" title={`Run ${theRun.id}`} role="status">
          <Group justify="space-between">
            <Text size="sm">
              {moduleInfo(theRun.module)?.title ?? theRun.module} {MODE[theRun.mode].toLowerCase()} of {theRun.object}, started {formatTime(theRun.created_at)} by {theRun.started_by_email}: {STATUS[theRun.status].label.toLowerCase()}.
            </Text>
            <Button component={Link} to={`/activity/${theRun.id}`}>
              Open run
            </Button>
          </Group>
        </Alert>
      )}
      {filters.run && runs.isSuccess && !theRun && !runs.hasNextPage && (
        <Alert color="orange" title="No such run" role="status">
          No run with the ID {filters.run} in this account, or it belongs to a module you cannot read. Check the ID, or clear the filter.
        </Alert>
      )}

      <ProblemAlert error={runs.error} title="The runs could not be loaded" />
      <RunsTable runs={all} names={names} loading={runs.isPending && !badRange} now={runs.dataUpdatedAt} />

      <Group justify="space-between">
        <Text size="sm" c="gray.7">
          {all.length.toLocaleString()} run{all.length === 1 ? "" : "s"} shown
        </Text>
        {runs.hasNextPage && (
          <Button variant="default" onClick={() => void runs.fetchNextPage()} loading={runs.isFetchingNextPage}>
            Load more runs
          </Button>
        )}
      </Group>
    </Stack>
  );
}

/** `now`: when the list was read; a running run's duration is as of then. */
const RunsTable = memo(function RunsTable({ runs, names, loading, now }: { runs: Run[]; names: Map<string, string>; loading: boolean; now: number }) {
  return (
    <div className={css.scroll}>
      <table className={css.table} aria-label="Runs">
        <thead>
          <tr>
            <th>Started</th>
            <th>Duration</th>
            <th>Member</th>
            <th>Module</th>
            <th>Object</th>
            <th>Template</th>
            <th>Mode</th>
            <th>Trigger</th>
            <th>Status</th>
            <th className={css.num}>Planned</th>
            <th className={css.num}>Applied</th>
            <th className={css.num}>Failed</th>
            <th className={css.num}>Skipped</th>
            <th>CSV</th>
          </tr>
        </thead>
        <tbody>
          {runs.length === 0 && (
            <tr>
              <td colSpan={14}>
                <Text size="sm" c="gray.7" py="sm">
                  {loading ? "Loading runs…" : "No runs match these filters."}
                </Text>
              </td>
            </tr>
          )}
          {runs.map((r) => (
            <RunLine key={r.id} run={r} member={names.get(r.started_by) ?? r.started_by_email} now={now} />
          ))}
        </tbody>
      </table>
    </div>
  );
});

/** One formatter for every count (`toLocaleString` makes a new one per call). */
const count = new Intl.NumberFormat();

function RunLine({ run, member, now }: { run: Run; member: string; now: number }) {
  const d = runDurationMs(run, now);
  const s = STATUS[run.status];
  return (
    <tr>
      <td>
        <Link className={css.link} to={`/activity/${run.id}`}>
          {formatTime(run.created_at, true)}
          <span className={css.hidden}> — open run {run.id}</span>
        </Link>
      </td>
      <td>{d === undefined ? "—" : formatDuration(d)}</td>
      <td>{member}</td>
      <td>{moduleInfo(run.module)?.title ?? run.module}</td>
      <td>{run.object}</td>
      <td className={css.template} title={run.template_name ?? undefined}>
        {run.template_name ?? "—"}
      </td>
      <td>{MODE[run.mode]}</td>
      <td>{TRIGGER[run.trigger]}</td>
      <td>
        <span className={css.badge} style={{ background: `var(--mantine-color-${s.color}-light)`, color: `var(--mantine-color-${s.color}-light-color)` }}>
          {s.label}
        </span>
      </td>
      <td className={css.num}>{count.format(run.counts.planned)}</td>
      <td className={css.num}>{count.format(run.counts.applied)}</td>
      <td className={css.num}>{count.format(run.counts.failed)}</td>
      <td className={css.num}>{count.format(run.counts.skipped)}</td>
      <td>
        {run.csv ? (
          <a className={css.link} href={`/runs/${run.id}/csv`} download={run.csv.file_name}>
            CSV<span className={css.hidden}> of run {run.id}</span>
          </a>
        ) : (
          "—"
        )}
      </td>
    </tr>
  );
}
