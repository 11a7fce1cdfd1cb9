// The run page (/activity/:runId): what ran, by whom, how it is going (polled until it
// ends), its rows, the CSV, cancel and revert, the report's delivery, the runs it is linked
// to, and on a preview that ended well: tick what to apply and apply exactly that.
import { useEffect, useState } from "react";
import { Alert, Anchor, Badge, Button, Code, CopyButton, Group, List, Modal, Paper, Progress, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { ApiError } from "../../api/problem";
import { can, useMe } from "../../api/session";
import { moduleInfo } from "../../app/modules";
import { ProblemAlert } from "../../components/ProblemAlert";
import { useApplyReviewed, useCancelRun, useRevertRun, useRun, type RowOutcome } from "./api";
import { MODE, STATUS, TRIGGER, canRevert, explainRun, formatDuration, formatTime, isFinal, revertLimits, runDurationMs, whyNoRevert, type Run } from "./logic";
import { ReportDelivery } from "./ReportDelivery";
import { RunRows } from "./RunRows";
import { ReviewPairs } from "./ReviewPairs";
import { followsWords } from "./review";
import { SaveWeights } from "./SaveWeights";
import { NONE, applyBody, applyLabel, canApplyReviewed, excludedCount, tickedCount, type Exclusions } from "./selection";
import { Fact } from "../../components/Fact";

/** Runs this one is linked to, each with what the link means. */
function relatedRuns(run: Run) {
  const out: { label: string; id: string }[] = [];
  if (run.from_preview) out.push({ label: "Applies the reviewed preview", id: run.from_preview });
  if (run.applied_by) out.push({ label: "Applied (as reviewed) by", id: run.applied_by });
  if (run.revert_of) out.push({ label: "Reverts", id: run.revert_of });
  if (run.reverted_by) out.push({ label: "Reverted by", id: run.reverted_by });
  return out;
}

/** Ticks once a second while `on`, so a running run's duration grows on screen. */
function useNow(on: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return undefined;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [on]);
  return now;
}

function Count({ label, value, color = "black" }: { label: string; value: number; color?: string | undefined }) {
  return (
    <Paper withBorder p="sm" radius="md">
      <Text size="xs" fw={700} c="gray.7" tt="uppercase">
        {label}
      </Text>
      <Text size="xl" fw={700} c={color}>
        {value.toLocaleString()}
      </Text>
    </Paper>
  );
}

export default function RunPage() {
  const { runId = "" } = useParams();
  const [params] = useSearchParams();
  const me = useMe();
  const run = useRun(runId);
  const navigate = useNavigate();
  const cancel = useCancelRun(runId);
  const revert = useRevertRun(runId);
  const apply = useApplyReviewed(runId);
  const [revertOpen, setRevertOpen] = useState(false);
  const [applyOpen, setApplyOpen] = useState(false);
  const [exclusions, setExclusions] = useState<Exclusions>(NONE);
  const data = run.data;
  const now = useNow(data !== undefined && !isFinal(data.status));

  if (run.isPending || !me.data) return <Text>Loading the run…</Text>;
  if (run.error || !data) {
    const missing = run.error instanceof ApiError && run.error.status === 404;
    return (
      <Stack>
        <Title order={2}>Run {runId}</Title>
        <ProblemAlert error={run.error} title={missing ? "No such run in this account" : "The run could not be loaded"} />
        <Anchor component={Link} to="/activity">
          Back to the Activity Tracker
        </Anchor>
      </Stack>
    );
  }

  const account = me.data.account;
  const crmName = account.crm === "salesforce" ? "Salesforce" : "HubSpot";
  const moduleTitle = moduleInfo(data.module)?.title ?? data.module;
  const writer = can(me.data, data.module, "write");
  const status = STATUS[data.status];
  const explanation = explainRun(data);
  const duration = runDurationMs(data, now);
  const c = data.counts;
  const done = c.applied + c.failed + c.skipped;
  const reviewing = canApplyReviewed(data, writer);
  const ticked = tickedCount(c.planned, exclusions);
  const related = relatedRuns(data);
  const conflictsFirst = (params.get("outcome") ?? undefined) as RowOutcome | undefined;

  const startRevert = async () => {
    const next = await revert.mutateAsync();
    setRevertOpen(false);
    void navigate(`/activity/${next.id}`);
  };
  const startApply = async () => {
    const next = await apply.mutateAsync(applyBody(exclusions, data.notify));
    setApplyOpen(false);
    void navigate(`/activity/${next.id}`);
  };

  return (
    <Stack gap="lg" maw={1200}>
      <Group justify="space-between" align="flex-start">
        <div>
          <Anchor component={Link} to="/activity" size="sm">
            ← Activity Tracker
          </Anchor>
          <Group gap="sm" mt={4}>
            <Title order={2}>
              {moduleTitle}: {MODE[data.mode].toLowerCase()} of {data.object}
            </Title>
            <Badge size="lg" color={status.color} variant="light">
              {status.label}
            </Badge>
          </Group>
          <Group gap="xs" mt={4}>
            <Text size="sm">
              Run ID <Code>{data.id}</Code>
            </Text>
            <CopyButton value={data.id}>
              {({ copied, copy }) => (
                <Button size="compact-xs" variant="subtle" onClick={copy}>
                  {copied ? "Copied" : "Copy Run ID"}
                </Button>
              )}
            </CopyButton>
          </Group>
        </div>
        <Group>
          {data.csv && (
            <Button component="a" href={`/runs/${data.id}/csv`} download={data.csv.file_name} variant="default">
              Download CSV
            </Button>
          )}
          {writer && !isFinal(data.status) && (
            <Button color="red" variant="light" onClick={() => cancel.mutate()} loading={cancel.isPending} disabled={data.cancel_requested}>
              {data.cancel_requested ? "Cancelling…" : "Cancel run"}
            </Button>
          )}
          {writer && canRevert(data) && (
            <Button color="orange" variant="light" onClick={() => setRevertOpen(true)}>
              Revert…
            </Button>
          )}
        </Group>
      </Group>

      <ProblemAlert error={cancel.error} title="The run could not be cancelled" />

      {writer && whyNoRevert(data) && (
        <Text size="sm" c="gray.7">
          {whyNoRevert(data)}
        </Text>
      )}

      {explanation && (
        <Alert color={data.status === "failed" ? "red" : data.status === "partial" ? "orange" : "blue"} title={status.label} role={data.status === "failed" ? "alert" : "status"}>
          {explanation}
        </Alert>
      )}

      {data.recipe && (
        <Text size="sm">
          Step {data.recipe.step + 1} of {data.recipe.steps} of recipe{" "}
          <Anchor component={Link} to={`/automation/recipe-runs/${data.recipe.recipe_run_id}`}>
            {data.recipe.recipe_name}
          </Anchor>
        </Text>
      )}

      {related.length > 0 && (
        <Group gap="lg">
          {related.map((r) => (
            <Text size="sm" key={`${r.label}${r.id}`}>
              {r.label}{" "}
              <Anchor component={Link} to={`/activity/${r.id}`}>
                run {r.id}
              </Anchor>
            </Text>
          ))}
        </Group>
      )}

      {data.module === "merge" && followsWords(data.decisions) && (
        <Text size="sm" fw={500}>
          {followsWords(data.decisions)}
        </Text>
      )}

      <Paper withBorder p="md" radius="md">
        <SimpleGrid cols={{ base: 2, sm: 3, md: 5 }} spacing="md">
          <Fact label="Module">{moduleTitle}</Fact>
          <Fact label="Object">{data.object}</Fact>
          <Fact label="Mode">{MODE[data.mode]}</Fact>
          <Fact label="Trigger">{TRIGGER[data.trigger]}</Fact>
          <Fact label="Template">
            {data.template_id ? (
              <Anchor component={Link} to={`/modules/${data.module}?template=${data.template_id}`}>
                {data.template_name ?? data.template_id}
              </Anchor>
            ) : (
              "No template (one-off config)"
            )}
          </Fact>
          <Fact label="Started by">{data.acting.kind === "integration" ? `${data.started_by_email} (as the integration user)` : data.started_by_email}</Fact>
          <Fact label="Created">{formatTime(data.created_at)}</Fact>
          <Fact label="Started">{formatTime(data.started_at)}</Fact>
          <Fact label="Finished">{formatTime(data.finished_at)}</Fact>
          <Fact label="Duration">{duration === undefined ? "Not started" : formatDuration(duration)}</Fact>
        </SimpleGrid>
      </Paper>

      <section aria-label="Counts">
        <SimpleGrid cols={{ base: 2, sm: 5 }} spacing="sm">
          <Count label="Scanned" value={c.scanned} />
          <Count label="Planned" value={c.planned} />
          <Count label="Applied" value={c.applied} color={c.applied ? "green.9" : undefined} />
          <Count label="Failed" value={c.failed} color={c.failed ? "red.9" : undefined} />
          <Count label="Skipped" value={c.skipped} />
        </SimpleGrid>
        {data.mode === "apply" && !isFinal(data.status) && c.planned > 0 && (
          <Progress mt="sm" value={(100 * done) / c.planned} aria-label={`${done} of ${c.planned} changes done`} />
        )}
        <Text size="xs" c="gray.7" mt={4}>
          Skipped: planned but not written (flags, what a stopped run did not reach). A record changed in {crmName} since Steward read it is left alone and shown as a row with the error CONFLICT.
        </Text>
      </section>

      <ReportDelivery run={data} />

      {data.module === "merge" && isFinal(data.status) && <SaveWeights run={data} writer={writer} />}

      {data.module === "merge" && isFinal(data.status) && <ReviewPairs key={data.id} run={data} account={account} writer={writer} />}

      <Stack gap="sm" component="section" aria-label="Rows">
        <Title order={3} size="h4">
          {data.mode === "preview" ? "What would change" : "What changed"}
        </Title>
        {reviewing && (
          <Alert color="blue" variant="light" title="Apply what you reviewed">
            Every change below is ticked. Untick the {data.module === "merge" ? "merge groups" : "rows"} you do not want, then apply: Steward applies exactly this preview's plan minus what you unticked, and reports records changed in {crmName} since the preview as conflicts (failed rows, error CONFLICT) instead of overwriting them.
          </Alert>
        )}
        {reviewing && (
          <Paper withBorder p="md" radius="md" bg="blue.0">
            <Group justify="space-between">
              <Text size="sm">
                {ticked.toLocaleString()} of {c.planned.toLocaleString()} changes ticked
                {excludedCount(exclusions) > 0 ? ` · ${excludedCount(exclusions)} left out` : ""}
              </Text>
              <Button onClick={() => setApplyOpen(true)} disabled={ticked === 0}>
                {applyLabel(ticked)}
              </Button>
            </Group>
          </Paper>
        )}
        <RunRows run={data} account={account} exclusions={reviewing ? exclusions : undefined} onExclusions={reviewing ? setExclusions : undefined} initialOutcome={conflictsFirst} />
      </Stack>

      <Modal opened={revertOpen} onClose={() => setRevertOpen(false)} closeButtonProps={{ "aria-label": "Close" }} title="Revert this run?">
        <Stack>
          <Text size="sm">
            Reverting starts a new run that restores the values this run changed in {crmName}. A record someone changed since is left alone and reported as a conflict.
          </Text>
          <Alert color="orange" title={`What cannot be undone on ${crmName}`}>
            <List size="sm">
              {revertLimits(data.revertible).map((l) => (
                <List.Item key={l}>{l}</List.Item>
              ))}
            </List>
          </Alert>
          <ProblemAlert error={revert.error} title="The revert could not start" />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setRevertOpen(false)}>
              Keep the changes
            </Button>
            <Button color="orange" onClick={() => void startRevert().catch(() => undefined)} loading={revert.isPending}>
              Revert now
            </Button>
          </Group>
        </Stack>
      </Modal>

      <Modal opened={applyOpen} onClose={() => setApplyOpen(false)} closeButtonProps={{ "aria-label": "Close" }} title={`Apply ${ticked.toLocaleString()} change${ticked === 1 ? "" : "s"} to ${crmName}?`}>
        <Stack>
          <Text size="sm">
            Steward writes the ticked changes of this preview to {data.object} in {crmName}
            {excludedCount(exclusions) > 0 ? `, leaving out the ${excludedCount(exclusions)} you unticked` : ""}. You will see the new run's progress next.
            {data.notify ? ` Its report goes to ${data.notify.recipients.join(", ")}, as this preview's did.` : ""}
          </Text>
          {data.module === "merge" && (
            <Alert color="orange" title="Merges cannot be undone">
              {crmName === "HubSpot" ? "HubSpot has no unmerge." : "Undeleting a merged-away record does not split the master."} Check the groups before you apply.
            </Alert>
          )}
          <ProblemAlert error={apply.error} title="The changes could not be applied" />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setApplyOpen(false)}>
              Back to the review
            </Button>
            <Button onClick={() => void startApply().catch(() => undefined)} loading={apply.isPending}>
              Apply now
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}
