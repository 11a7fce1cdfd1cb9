// "Pairs to review" on a scored merge run: each pair the score was unsure of, both records
// linked to the CRM, the note one compared field a line, Accept / Reject (kept per run in
// localStorage), and the follow-up run that merges the accepted pairs.
import { useEffect, useState } from "react";
import { Alert, Anchor, Badge, Button, Card, Group, Loader, Modal, Paper, SimpleGrid, Stack, Table, Text, Title, VisuallyHidden } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import { api } from "../../api/client";
import { unwrap } from "../../api/problem";
import { ProblemAlert } from "../../components/ProblemAlert";
import { useRunRows } from "./api";
import { crmRecordUrl, type MeAccount, type Run } from "./logic";
import {
  decide,
  decisionCounts,
  decisionsBody,
  followUpBody,
  formatProbability,
  loadDecisions,
  pairsOf,
  parseNote,
  saveDecisions,
  verdictOf,
  type DecisionMap,
  type Pair,
  type Verdict,
} from "./review";

/** Pairs shown at first, and added by each "Show more pairs". */
const PAGE = 10;

function storage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

/** The run's review pairs, read a page at a time (the rows filtered to action `review`). */
export function useReviewPairs(run: Run) {
  const rows = useRunRows(run.module === "merge" ? run : undefined, "review", undefined);
  const all = rows.data?.pages.flatMap((p) => p.rows) ?? [];
  return { rows, pairs: pairsOf(all) };
}

function Weight({ w }: { w: number | undefined }) {
  if (w === undefined) return null;
  const color = w > 0 ? "teal.9" : w < 0 ? "red.9" : "gray.7";
  return (
    <Text size="sm" fw={600} c={color} ta="right" style={{ whiteSpace: "nowrap" }}>
      {w > 0 ? `+${w}` : w < 0 ? `−${Math.abs(w)}` : "0"}
    </Text>
  );
}

function PairCard({ pair, account, run, verdict, onVerdict }: { pair: Pair; account: MeAccount; run: Run; verdict: Verdict | undefined; onVerdict: (v: Verdict | undefined) => void }) {
  const note = parseNote(pair.note);
  // The engine's notes give both values and the level: a column each.
  const split = note.lines.some((l) => l.a !== undefined);
  const crmName = account.crm === "salesforce" ? "Salesforce" : "HubSpot";
  const record = (id: string) => {
    const href = crmRecordUrl(account, run.object, id);
    return href ? (
      <Anchor href={href} target="_blank" rel="noreferrer" fw={600}>
        {id}
        <VisuallyHidden> in {crmName}</VisuallyHidden>
      </Anchor>
    ) : (
      <Text span fw={600}>
        {id}
      </Text>
    );
  };
  const border = verdict === "accept" ? "var(--mantine-color-teal-7)" : verdict === "reject" ? "var(--mantine-color-gray-5)" : undefined;
  return (
    <Card withBorder padding="sm" radius="md" component="li" aria-label={`Pair ${pair.id}`} style={border ? { borderColor: border, borderWidth: 2 } : undefined}>
      <Group justify="space-between" align="flex-start" wrap="nowrap">
        <div>
          <Group gap="xs">
            <Text size="sm" c="gray.7">
              Pair {pair.id}
            </Text>
            {note.probability !== undefined && (
              <Badge variant="light" color="blue">
                {formatProbability(note.probability)} likely the same
              </Badge>
            )}
            {verdict && (
              <Badge variant="filled" color={verdict === "accept" ? "teal.9" : "gray.7"}>
                {verdict === "accept" ? "Accepted: will merge" : "Rejected: never merged"}
              </Badge>
            )}
          </Group>
          <Text size="sm" mt={4}>
            Record {record(pair.a)} and record {record(pair.b)}
          </Text>
        </div>
        <Group gap="xs" wrap="nowrap">
          <Button size="xs" color="teal" variant={verdict === "accept" ? "light" : "default"} aria-pressed={verdict === "accept"} aria-label={`Accept pair ${pair.id}`} onClick={() => onVerdict(verdict === "accept" ? undefined : "accept")}>
            {verdict === "accept" ? "✓ Accepted" : "Accept"}
          </Button>
          <Button size="xs" color="gray" variant={verdict === "reject" ? "light" : "default"} aria-pressed={verdict === "reject"} aria-label={`Reject pair ${pair.id}`} onClick={() => onVerdict(verdict === "reject" ? undefined : "reject")}>
            {verdict === "reject" ? "✓ Rejected" : "Reject"}
          </Button>
        </Group>
      </Group>
      {note.lines.length > 0 && (
        <Table mt="xs" layout="fixed" verticalSpacing={2} horizontalSpacing="sm" aria-label={`Why pair ${pair.id} was scored so`}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th w={170}>Field</Table.Th>
              {split ? (
                <>
                  <Table.Th>Record {pair.a}</Table.Th>
                  <Table.Th>Record {pair.b}</Table.Th>
                  <Table.Th w={170}>Compared</Table.Th>
                </>
              ) : (
                <Table.Th>Values and how they compare</Table.Th>
              )}
              <Table.Th w={80} ta="right">
                Weight
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {note.lines.map((l, k) => (
              <Table.Tr key={k}>
                <Table.Td>
                  <Text size="sm" fw={600}>
                    {l.field}
                  </Text>
                </Table.Td>
                {split ? (
                  l.a !== undefined ? (
                    <>
                      <Table.Td>
                        <Text size="sm">{l.a}</Text>
                      </Table.Td>
                      <Table.Td>
                        <Text size="sm">{l.b}</Text>
                      </Table.Td>
                      <Table.Td>
                        <Text size="sm" c="gray.7">
                          {l.level}
                        </Text>
                      </Table.Td>
                    </>
                  ) : (
                    <Table.Td colSpan={3}>
                      <Text size="sm">{l.text}</Text>
                    </Table.Td>
                  )
                ) : (
                  <Table.Td>
                    <Text size="sm">{l.text}</Text>
                  </Table.Td>
                )}
                <Table.Td>
                  <Weight w={l.weight} />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {note.other.length > 0 && (
        <Text size="sm" c="gray.7" mt={4}>
          {note.other.join(" · ")}
        </Text>
      )}
    </Card>
  );
}

/** The panel: pairs, counts, and the follow-up run (preview; apply for a member with write). */
export function ReviewPairs({ run, account, writer }: { run: Run; account: MeAccount; writer: boolean }) {
  const { rows, pairs } = useReviewPairs(run);
  const [decisions, setDecisions] = useState<DecisionMap>(() => loadDecisions(storage(), run.id));
  const [confirmApply, setConfirmApply] = useState(false);
  const [shown, setShown] = useState(PAGE);
  const navigate = useNavigate();
  const client = useQueryClient();
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = rows;

  useEffect(() => saveDecisions(storage(), run.id, decisions), [run.id, decisions]);

  const start = useMutation({
    mutationFn: (mode: Run["mode"]) => unwrap(api.POST("/runs", { body: followUpBody(run, mode, decisionsBody(decisions, run.decisions)) })),
    onSuccess: (next) => {
      void client.invalidateQueries({ queryKey: ["runs"] });
      void navigate(`/activity/${next.id}`);
    },
  });

  if (rows.isPending) return null;
  if (pairs.length === 0 && !hasNextPage) return null;

  const { accepted, rejected } = decisionCounts(decisions);
  const undecided = pairs.filter((p) => verdictOf(decisions, p) === undefined).length;
  const crmName = account.crm === "salesforce" ? "Salesforce" : "HubSpot";
  const none = accepted + rejected === 0;

  return (
    <Stack gap="sm" component="section" aria-label="Pairs to review">
      <Title order={3} size="h4">
        Pairs to review
      </Title>
      <Text size="sm" c="gray.7">
        The score was unsure of these pairs, so nothing was merged for them. Accept the pairs that are the same person and reject those that are not, then start a run with your decisions: accepted pairs are merged (with their groups), rejected pairs never are. Your decisions are kept in this browser until then.
      </Text>
      <ProblemAlert error={rows.error} title="The pairs could not be read" />
      <Paper withBorder p="sm" radius="md" bg="blue.0">
        <Group justify="space-between">
          <SimpleGrid cols={3} spacing="lg" aria-label="Decisions">
            <Text size="sm">
              <b>{accepted.toLocaleString()}</b> accepted
            </Text>
            <Text size="sm">
              <b>{rejected.toLocaleString()}</b> rejected
            </Text>
            <Text size="sm">
              <b>{undecided.toLocaleString()}</b> of {pairs.length.toLocaleString()}
              {hasNextPage ? "+" : ""} undecided
            </Text>
          </SimpleGrid>
          <Group gap="xs">
            <Button variant="default" size="xs" disabled={none} onClick={() => setDecisions({})}>
              Clear decisions
            </Button>
            <Button size="sm" disabled={none} loading={start.isPending && start.variables === "preview"} onClick={() => start.mutate("preview")}>
              Preview with these decisions
            </Button>
            {writer && (
              <Button size="sm" color="red" disabled={none || start.isPending} onClick={() => setConfirmApply(true)}>
                Apply with these decisions…
              </Button>
            )}
          </Group>
        </Group>
      </Paper>
      <ProblemAlert error={start.error} title="The run could not start" />
      <Stack gap="xs" component="ol" style={{ listStyle: "none", padding: 0, margin: 0 }}>
        {pairs.slice(0, shown).map((p) => (
          <PairCard key={p.id} pair={p} account={account} run={run} verdict={verdictOf(decisions, p)} onVerdict={(v) => setDecisions((d) => decide(d, p, v))} />
        ))}
      </Stack>
      {(pairs.length > shown || hasNextPage) && (
        <Button
          variant="default"
          w="fit-content"
          loading={isFetchingNextPage}
          onClick={() => {
            setShown((n) => n + PAGE);
            if (pairs.length <= shown + PAGE && hasNextPage) void fetchNextPage();
          }}
        >
          Show more pairs ({Math.min(shown, pairs.length).toLocaleString()} of {pairs.length.toLocaleString()}
          {hasNextPage ? "+" : ""} shown)
        </Button>
      )}
      {isFetchingNextPage && <Loader size="sm" aria-label="Loading pairs" />}
      <Modal opened={confirmApply} onClose={() => setConfirmApply(false)} closeButtonProps={{ "aria-label": "Close" }} title={`Apply in ${crmName} with your decisions?`}>
        <Stack>
          <Text size="sm">
            Steward runs this template again on {run.object} and merges in {crmName} every group it finds, plus the {accepted.toLocaleString()} pair{accepted === 1 ? "" : "s"} you accepted; the {rejected.toLocaleString()} you rejected are never merged. Records changed since are read as they are now.
          </Text>
          <Alert color="orange" title="Merges cannot be undone">
            {crmName === "HubSpot" ? "HubSpot has no unmerge." : "Undeleting a merged-away record does not split the master."} Preview first if you have not.
          </Alert>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirmApply(false)}>
              Back to the pairs
            </Button>
            <Button
              color="red"
              loading={start.isPending}
              onClick={() => {
                setConfirmApply(false);
                start.mutate("apply");
              }}
            >
              Apply now
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}
