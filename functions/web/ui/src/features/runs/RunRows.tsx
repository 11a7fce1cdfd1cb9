// A run's plan (preview) or audit (apply) rows as a table: each record linked to its page in
// the CRM, each field's before → after, merge groups together with the record that stays
// and those merged into it; on a reviewed preview, a tick per group or row.
import { useEffect, useState } from "react";
import { Alert, Anchor, Badge, Button, Checkbox, Group, Loader, NativeSelect, Table, Text, VisuallyHidden } from "@mantine/core";
import { ProblemAlert } from "../../components/ProblemAlert";
import { useRunRows, type RowAction, type RowOutcome } from "./api";
import { blocksOf, change, crmRecordUrl, hasRows, type MeAccount, type Run, type RunRow } from "./logic";
import { isTicked, tickAll, tickGroup, tickRecord, type Exclusions } from "./selection";

const ACTIONS: { value: RowAction; label: string }[] = [
  { value: "update", label: "Update" },
  { value: "merge", label: "Merge" },
  { value: "archive", label: "Archive / delete" },
  { value: "create", label: "Create" },
  { value: "convert_lead", label: "Convert lead" },
  { value: "flag", label: "Flag" },
  { value: "review", label: "Review (pair to decide)" },
];
const OUTCOMES: { value: RowOutcome; label: string }[] = [
  { value: "applied", label: "Applied" },
  { value: "failed", label: "Failed (errors and conflicts)" },
  { value: "skipped", label: "Skipped (flags, stopped)" },
];
const OUTCOME_COLOR: Record<RowOutcome, string> = { applied: "green", failed: "red", skipped: "gray" };
const ROLE_LABEL: Record<NonNullable<RunRow["role"]>, string> = { master: "Master (stays)", duplicate: "Duplicate (merged in)", candidate: "Candidate (to review)" };
const ACTION_LABEL = Object.fromEntries(ACTIONS.map((a) => [a.value, a.label])) as Record<RowAction, string>;

interface Props {
  run: Run;
  account: MeAccount;
  /** Present when the person picks which changes to apply. */
  exclusions?: Exclusions | undefined;
  onExclusions?: ((ex: Exclusions) => void) | undefined;
  /** Start with this outcome filter (a conflict link). */
  initialOutcome?: RowOutcome | undefined;
}

export function RunRows({ run, account, exclusions, onExclusions, initialOutcome }: Props) {
  const [action, setAction] = useState<RowAction | undefined>();
  const [outcome, setOutcome] = useState<RowOutcome | undefined>(initialOutcome);
  const rows = useRunRows(run, action, outcome);
  const { hasNextPage, isFetchingNextPage, fetchNextPage, data } = rows;
  const lastPage = data?.pages[data.pages.length - 1];

  // A filtered page may hold no rows before the file ends: read on rather than show an empty page.
  useEffect(() => {
    if (lastPage && lastPage.rows.length === 0 && hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [lastPage, hasNextPage, isFetchingNextPage, fetchNextPage]);

  if (!hasRows(run)) {
    return (
      <Text c="gray.7" size="sm">
        The rows appear when the run ends: Steward writes them as one file then.
      </Text>
    );
  }

  const all = data?.pages.flatMap((p) => p.rows) ?? [];
  const columns = data?.pages[0]?.columns ?? [];
  const withOutcome = data?.pages[0]?.with_outcome ?? run.mode === "apply";
  const blocks = blocksOf(all);
  const grouped = blocks.some((b) => b.kind === "group");
  const selecting = exclusions !== undefined && onExclusions !== undefined;
  const crmName = account.crm === "salesforce" ? "Salesforce" : "HubSpot";

  // Review pairs write nothing: there is nothing of theirs to tick for the apply.
  const isPair = (b: (typeof blocks)[number]) => b.kind === "group" && b.rows.every((r) => r.action === "review");
  const shownGroups = blocks.flatMap((b) => (b.kind === "group" && !isPair(b) ? [b.groupId] : []));
  const shownPairs = blocks.filter(isPair).length;
  const shownRecords = blocks.flatMap((b) => (b.kind === "row" && b.row.record_id ? [b.row.record_id] : []));
  const tickedOnScreen = selecting ? shownGroups.filter((g) => !exclusions.groups.has(g)).length + shownRecords.filter((r) => !exclusions.records.has(r)).length : 0;
  const onScreen = shownGroups.length + shownRecords.length;

  const recordCell = (r: RunRow) => {
    if (!r.record_id) return <Text size="sm" c="gray.7">new record</Text>;
    const href = crmRecordUrl(account, run.object, r.record_id);
    return href ? (
      <Anchor href={href} target="_blank" rel="noreferrer" size="sm">
        {r.record_id}
        <VisuallyHidden> in {crmName}</VisuallyHidden>
      </Anchor>
    ) : (
      <Text size="sm">{r.record_id}</Text>
    );
  };

  const fieldCount = columns.length;
  const span = (selecting ? 1 : 0) + 4 + fieldCount + (withOutcome ? 2 : 0);

  const rowCells = (r: RunRow) => (
    <>
      <Table.Td>{r.row}</Table.Td>
      <Table.Td>{recordCell(r)}</Table.Td>
      <Table.Td>
        {r.role ? (
          <Badge variant="light" color={r.role === "master" ? "blue" : r.role === "candidate" ? "yellow" : "gray"} style={{ minWidth: "max-content" }}>
            {ROLE_LABEL[r.role]}
          </Badge>
        ) : (
          <Text size="sm">{ACTION_LABEL[r.action]}</Text>
        )}
      </Table.Td>
      {columns.map((c) => (
        <Table.Td key={c}>
          <Text size="sm" style={{ whiteSpace: "pre-wrap" }}>
            {change(r.fields[c])}
          </Text>
        </Table.Td>
      ))}
      <Table.Td>
        <Text size="sm">{r.note}</Text>
      </Table.Td>
      {withOutcome && (
        <>
          <Table.Td>{r.outcome ? <Badge variant="light" color={OUTCOME_COLOR[r.outcome]} style={{ minWidth: "max-content" }}>{r.outcome}</Badge> : null}</Table.Td>
          <Table.Td>
            <Text size="sm">{[r.error_code, r.error_message].filter(Boolean).join(": ")}</Text>
          </Table.Td>
        </>
      )}
    </>
  );

  return (
    <>
      <Group align="flex-end" gap="md">
        <NativeSelect
          label="Action"
          value={action ?? ""}
          onChange={(e) => setAction((e.currentTarget.value || undefined) as RowAction | undefined)}
          data={[{ value: "", label: "Every action" }, ...ACTIONS]}
        />
        {withOutcome && (
          <NativeSelect
            label="Outcome"
            value={outcome ?? ""}
            onChange={(e) => setOutcome((e.currentTarget.value || undefined) as RowOutcome | undefined)}
            data={[{ value: "", label: "Every outcome" }, ...OUTCOMES]}
          />
        )}
        {selecting && onScreen > 0 && (
          <Checkbox
            label={`Tick every ${grouped ? "group" : "row"} shown`}
            checked={tickedOnScreen === onScreen}
            indeterminate={tickedOnScreen > 0 && tickedOnScreen < onScreen}
            onChange={(e) => onExclusions(tickAll(exclusions, shownGroups, shownRecords, e.currentTarget.checked))}
          />
        )}
      </Group>
      <ProblemAlert error={rows.error} title="The rows could not be read" />
      {rows.isPending ? (
        <Loader aria-label="Loading rows" />
      ) : (
        <Table.ScrollContainer minWidth={720}>
          <Table striped={false} highlightOnHover withTableBorder verticalSpacing="xs" aria-label="Rows of the run">
            <Table.Thead>
              <Table.Tr>
                {selecting && <Table.Th>Apply</Table.Th>}
                <Table.Th>CSV row</Table.Th>
                <Table.Th>Record in {crmName}</Table.Th>
                <Table.Th>{grouped ? "Role" : "Action"}</Table.Th>
                {columns.map((c) => (
                  <Table.Th key={c}>{c}: before → after</Table.Th>
                ))}
                <Table.Th>Note</Table.Th>
                {withOutcome && (
                  <>
                    <Table.Th>Outcome</Table.Th>
                    <Table.Th>Error</Table.Th>
                  </>
                )}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {blocks.length === 0 && !hasNextPage && (
                <Table.Tr>
                  <Table.Td colSpan={span}>
                    <Text size="sm" c="gray.7" py="sm">
                      {action || outcome ? "No rows match these filters." : "This run has no rows: there was nothing to change."}
                    </Text>
                  </Table.Td>
                </Table.Tr>
              )}
              {blocks.map((b) =>
                b.kind === "group" ? (
                  <GroupRows key={`g:${b.groupId}`} groupId={b.groupId} rows={b.rows} span={span} selecting={selecting} tickable={!isPair(b)} ticked={selecting ? isTicked(exclusions, { group_id: b.groupId, record_id: null }) : true} onTick={(t) => selecting && onExclusions(tickGroup(exclusions, b.groupId, t))} rowCells={rowCells} />
                ) : (
                  <Table.Tr key={`r:${b.row.row}`}>
                    {selecting && (
                      <Table.Td>
                        {b.row.record_id && (
                          <Checkbox aria-label={`Apply row ${b.row.row} (record ${b.row.record_id})`} checked={isTicked(exclusions, b.row)} onChange={(e) => onExclusions(tickRecord(exclusions, b.row.record_id ?? "", e.currentTarget.checked))} />
                        )}
                      </Table.Td>
                    )}
                    {rowCells(b.row)}
                  </Table.Tr>
                ),
              )}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Group justify="space-between">
        <Text size="sm" c="gray.7">
          {all.length.toLocaleString()} row{all.length === 1 ? "" : "s"} shown
          {!action && !outcome && run.csv ? ` of ${run.csv.rows.toLocaleString()}` : ""}
          {grouped ? ` · ${shownGroups.length.toLocaleString()} merge group${shownGroups.length === 1 ? "" : "s"}` : ""}
          {shownPairs > 0 ? ` · ${shownPairs.toLocaleString()} pair${shownPairs === 1 ? "" : "s"} to review` : ""}
        </Text>
        {hasNextPage && (
          <Button variant="default" onClick={() => void fetchNextPage()} loading={isFetchingNextPage}>
            Load more rows
          </Button>
        )}
      </Group>
      {rows.isFetchingNextPage && lastPage?.rows.length === 0 && (
        <Alert color="gray" variant="light">
          Reading further down the file for matching rows…
        </Alert>
      )}
    </>
  );
}

function GroupRows({ groupId, rows, span, selecting, tickable, ticked, onTick, rowCells }: { groupId: string; rows: RunRow[]; span: number; selecting: boolean; tickable: boolean; ticked: boolean; onTick: (ticked: boolean) => void; rowCells: (r: RunRow) => React.ReactNode }) {
  const reason = rows.find((r) => r.note)?.note;
  const pair = rows.every((r) => r.action === "review");
  return (
    <>
      <Table.Tr bg="var(--mantine-color-gray-1)">
        <Table.Td colSpan={span}>
          <Group gap="sm">
            {selecting && tickable && <Checkbox aria-label={`Apply merge group ${groupId}`} checked={ticked} onChange={(e) => onTick(e.currentTarget.checked)} />}
            <Text size="sm" fw={600}>
              {pair ? `Pair to review ${groupId}` : `Merge group ${groupId}`}
            </Text>
            <Text size="sm" c="gray.7">
              {pair ? "not merged unless accepted" : `${rows.length} records`}
              {reason ? ` · ${reason}` : ""}
              {selecting && tickable && !ticked ? " · left out: not merged" : ""}
            </Text>
          </Group>
        </Table.Td>
      </Table.Tr>
      {rows.map((r) => (
        <Table.Tr key={`r:${r.row}`}>
          {selecting && <Table.Td />}
          {rowCells(r)}
        </Table.Tr>
      ))}
    </>
  );
}
