// The Merge Duplicates editor: the object, rule sets (records are duplicates when ANY rule set
// matches; a rule set matches when ALL its comparisons do), master rules in order, field
// survivorship, group size. Every edit is a pure function of config.ts.
import { Fragment } from "react";
import {
  ActionIcon,
  Badge,
  Button,
  Card,
  Checkbox,
  Divider,
  Group,
  NumberInput,
  SegmentedControl,
  Select,
  Stack,
  TagsInput,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { errorAt } from "../../../../api/problem";
import { FieldSelect, FieldsSelect, ObjectSelect } from "../../../../components/crm";
import type { Configs, EditorProps } from "../types";
import {
  COMPARES,
  DEFAULT_MAX_GROUP_SIZE,
  FIELD_RULES,
  MASTER_RULES,
  NORMALIZERS,
  addComparison,
  addMasterRule,
  addRuleSet,
  changeObject,
  comparisonFields,
  fieldRule,
  fieldRuleName,
  fieldRuleSeparator,
  masterMode,
  masterRules,
  moveMasterRule,
  pointerSegment,
  removeComparison,
  removeFieldRule,
  removeMasterRule,
  removeRuleSet,
  renameFieldRule,
  renameRuleSet,
  rulesOf,
  setCompare,
  setFieldRule,
  setFields,
  setMasterMode,
  setMasterRuleKind,
  setMaxGroupSize,
  setNormalizer,
  setOption,
  setReadOnly,
  setSurvivorshipDefault,
  survivorshipEntries,
  takesCount,
  takesNormalizer,
  takesThreshold,
  updateComparison,
  updateMasterRule,
  type Comparison,
  type FieldRuleName,
  type MasterMode,
  type MasterRuleKind,
  type MergeConfig,
  type Normalizer,
  claims as ruleClaims,
  emptyConfig,
} from "./config";
import { matchMode, scoreClaims, setMatchMode, type MatchMode } from "./score";
import { ScoreSection } from "./Score";

export { emptyConfig } from "./config";

/** The pointers the editor shows beside an input: the rules' and the score's. */
export function claims(config: MergeConfig, pointer: string): boolean {
  return pointer === "/config/score" || ruleClaims(config, pointer) || scoreClaims(config, pointer);
}

type Props = EditorProps<Configs["merge"]>;

function Section({ title, help, children }: { title: string; help: string; children: React.ReactNode }) {
  return (
    <Card withBorder padding="md" component="section" aria-label={title}>
      <Title order={3} size="h4">
        {title}
      </Title>
      <Text size="sm" c="dimmed" mb="sm">
        {help}
      </Text>
      {children}
    </Card>
  );
}

function ComparisonRow({ config, i, j, onChange, error, readOnly }: Props & { i: number; j: number }) {
  const c = rulesOf(config)[i]?.all[j];
  if (!c) return null;
  const at = `/config/rules/${i}/all/${j}`;
  const set = (change: (c: Comparison) => Comparison) => onChange(updateComparison(config, i, j, change));
  const name = `Rule set ${i + 1}, comparison ${j + 1}`;
  const count = rulesOf(config)[i]?.all.length ?? 0;
  return (
    <Card withBorder padding="sm" bg="gray.0" role="group" aria-label={name}>
      <Group align="flex-start" wrap="wrap" gap="sm">
        <FieldsSelect
          object={config.object}
          label="Fields"
          description="Several: any of one record's matches any of the other's"
          placeholder={comparisonFields(c).length ? undefined : "Pick a field"}
          value={comparisonFields(c)}
          onChange={(names) => set((x) => setFields(x, names))}
          error={errorAt(error, `${at}/field`) ?? errorAt(error, `${at}/fields`, true) ?? errorAt(error, at)}
          readOnly={readOnly}
          w={300}
        />
        <Select
          label="Match when"
          data={COMPARES}
          value={c.compare}
          allowDeselect={false}
          onChange={(v) => v && set((x) => setCompare(x, v as Comparison["compare"]))}
          error={errorAt(error, `${at}/compare`)}
          readOnly={readOnly}
          w={260}
        />
        {takesNormalizer(c) && (
          <Select
            label="Read values as"
            data={NORMALIZERS}
            value={c.as ?? "text"}
            allowDeselect={false}
            onChange={(v) => v && set((x) => setNormalizer(x, v as Normalizer))}
            error={errorAt(error, `${at}/as`)}
            readOnly={readOnly}
            w={320}
          />
        )}
        {takesThreshold(c) && (
          <>
            <NumberInput
              label="Least score (0–1)"
              min={0}
              max={1}
              step={0.05}
              decimalScale={3}
              value={c.threshold ?? ""}
              onChange={(v) => set((x) => setOption(x, "threshold", typeof v === "number" ? v : undefined))}
              error={errorAt(error, `${at}/threshold`)}
              readOnly={readOnly}
              w={140}
            />
            <Select
              label="Scoring"
              data={[
                { value: "jaro_winkler", label: "Jaro-Winkler (shared start counts more)" },
                { value: "levenshtein", label: "Levenshtein (edits)" },
              ]}
              value={c.method ?? "jaro_winkler"}
              allowDeselect={false}
              onChange={(v) => set((x) => setOption(x, "method", v === "levenshtein" ? "levenshtein" : undefined))}
              error={errorAt(error, `${at}/method`)}
              readOnly={readOnly}
              w={350}
            />
          </>
        )}
        {takesCount(c) && (
          <NumberInput
            label={c.compare === "first_words" ? "How many words" : "How many characters"}
            min={1}
            allowDecimal={false}
            value={c.n ?? ""}
            onChange={(v) => set((x) => setOption(x, "n", typeof v === "number" ? v : undefined))}
            error={errorAt(error, `${at}/n`)}
            readOnly={readOnly}
            w={160}
          />
        )}
        {takesNormalizer(c) && c.as === "phone" && (
          <>
            <TextInput
              label="Default region"
              description="For numbers without a country code"
              placeholder="US"
              value={c.default_region ?? ""}
              onChange={(e) => set((x) => setOption(x, "default_region", e.currentTarget.value.toUpperCase() || undefined))}
              error={errorAt(error, `${at}/default_region`)}
              readOnly={readOnly}
              w={140}
            />
            <FieldSelect
              object={config.object}
              label="Country field"
              description="Optional: each record's country, for numbers written the local way"
              placeholder="None"
              clearable
              value={c.region_field}
              onChange={(v) => set((x) => setOption(x, "region_field", v || undefined))}
              error={errorAt(error, `${at}/region_field`)}
              readOnly={readOnly}
              w={300}
            />
          </>
        )}
      </Group>
      <Group mt="xs" gap="lg">
        <Checkbox
          label="Two empty values match"
          checked={c.allow_empty ?? false}
          onChange={(e) => set((x) => setOption(x, "allow_empty", e.currentTarget.checked))}
          error={errorAt(error, `${at}/allow_empty`)}
          disabled={readOnly}
        />
        {takesNormalizer(c) && c.as === "email" && (
          <>
            <Checkbox
              label="Ignore dots in Gmail addresses"
              checked={c.ignore_dots ?? false}
              onChange={(e) => set((x) => setOption(x, "ignore_dots", e.currentTarget.checked))}
              error={errorAt(error, `${at}/ignore_dots`)}
              disabled={readOnly}
            />
            <Checkbox
              label="Ignore +tags (jo+news@x.com)"
              checked={c.ignore_plus ?? false}
              onChange={(e) => set((x) => setOption(x, "ignore_plus", e.currentTarget.checked))}
              error={errorAt(error, `${at}/ignore_plus`)}
              disabled={readOnly}
            />
          </>
        )}
        {!readOnly && (
          <Button variant="subtle" color="red" size="compact-sm" ml="auto" onClick={() => onChange(removeComparison(config, i, j))} disabled={count <= 1} aria-label={`Remove ${name.toLowerCase()}`}>
            Remove
          </Button>
        )}
      </Group>
    </Card>
  );
}

const MATCH_MODES: { value: MatchMode; label: string; help: string }[] = [
  { value: "rules", label: "Rules", help: "Records are duplicates when a rule you write matches them: exact and predictable." },
  { value: "score", label: "Score", help: "Steward scores every likely pair on several fields, with weights learned from your own data: it finds duplicates with typos, swapped names or a missing value. Sure pairs are merged; pairs it is unsure of are listed for you to decide." },
  { value: "both", label: "Rules or score", help: "Records are duplicates when a rule matches them or their score is high enough." },
];

function MatchMode({ config, onChange, readOnly }: Props) {
  const mode = matchMode(config);
  return (
    <Section title="How records are matched" help={MATCH_MODES.find((m) => m.value === mode)?.help ?? ""}>
      <SegmentedControl
        aria-label="How records are matched"
        value={mode}
        onChange={(v) => onChange(setMatchMode(config, v as MatchMode, () => rulesOf(emptyConfig(config.object))))}
        disabled={readOnly}
        data={MATCH_MODES.map((m) => ({ value: m.value, label: m.label }))}
      />
    </Section>
  );
}

function RuleSets(props: Props) {
  const { config, onChange, error, readOnly } = props;
  if (matchMode(config) === "score") return null;
  return (
    <Section title="Match rules" help="Two records are duplicates when any rule set matches them. A rule set matches when all of its comparisons do.">
      <Stack gap="xs">
        {errorAt(error, "/config/rules") && (
          <Text c="red" size="sm" role="alert">
            {errorAt(error, "/config/rules")}
          </Text>
        )}
        {rulesOf(config).map((set, i) => (
          <Fragment key={i}>
            {i > 0 && (
              <Divider
                label={
                  <Badge variant="light" color="grape">
                    or
                  </Badge>
                }
              />
            )}
            <Card withBorder padding="sm" role="group" aria-label={`Rule set ${i + 1}`}>
              <Group justify="space-between" align="flex-end" mb="xs">
                <TextInput
                  label={`Rule set ${i + 1} name`}
                  description="Shown in each group's note"
                  placeholder={`rule ${i + 1}`}
                  value={set.name ?? ""}
                  onChange={(e) => onChange(renameRuleSet(config, i, e.currentTarget.value))}
                  error={errorAt(error, `/config/rules/${i}/name`) ?? errorAt(error, `/config/rules/${i}`)}
                  readOnly={readOnly}
                  w={320}
                />
                {!readOnly && (
                  <Button variant="subtle" color="red" onClick={() => onChange(removeRuleSet(config, i))} disabled={rulesOf(config).length <= 1}>
                    Remove rule set {i + 1}
                  </Button>
                )}
              </Group>
              <Stack gap="xs">
                {errorAt(error, `/config/rules/${i}/all`) && (
                  <Text c="red" size="sm">
                    {errorAt(error, `/config/rules/${i}/all`)}
                  </Text>
                )}
                {set.all.map((_, j) => (
                  <Fragment key={j}>
                    {j > 0 && (
                      <Text size="xs" fw={700} c="dimmed" tt="uppercase">
                        and
                      </Text>
                    )}
                    <ComparisonRow {...props} i={i} j={j} />
                  </Fragment>
                ))}
                {!readOnly && (
                  <Button variant="light" size="xs" w="fit-content" onClick={() => onChange(addComparison(config, i))}>
                    Add a comparison to rule set {i + 1} (AND)
                  </Button>
                )}
              </Stack>
            </Card>
          </Fragment>
        ))}
        {!readOnly && (
          <Button variant="default" w="fit-content" onClick={() => onChange(addRuleSet(config))}>
            Add a rule set (OR)
          </Button>
        )}
      </Stack>
    </Section>
  );
}

function MasterRules({ config, onChange, error, readOnly }: Props) {
  const rules = masterRules(config);
  return (
    <Section title="Master record" help="Which record of each group stays. A group the rules cannot decide is reported, never merged at random.">
      <Stack gap="xs">
        <div>
          <Text size="sm" fw={500} id="master-mode-label">
            How the rules decide
          </Text>
          <SegmentedControl
            aria-labelledby="master-mode-label"
            value={masterMode(config)}
            onChange={(v) => onChange(setMasterMode(config, v as MasterMode))}
            disabled={readOnly}
            data={[
              { value: "by_priority", label: "In order: the first rule that decides" },
              { value: "absolute", label: "All rules must agree" },
            ]}
          />
        </div>
        {(errorAt(error, "/config/master/rules") ?? errorAt(error, "/config/master")) && (
          <Text c="red" size="sm">
            {errorAt(error, "/config/master/rules") ?? errorAt(error, "/config/master")}
          </Text>
        )}
        <Stack gap="xs" component="ol" style={{ listStyle: "none", padding: 0, margin: 0 }} aria-label="Master rules, in order">
          {rules.map((rule, k) => {
            const at = `/config/master/rules/${k}`;
            const kind = MASTER_RULES.find((m) => m.value === rule.rule);
            const label = `Master rule ${k + 1}`;
            return (
              <li key={k}>
              <Card withBorder padding="sm" bg="gray.0" role="group" aria-label={label}>
                <Group align="flex-start" gap="sm">
                  <Badge variant="filled" color="gray" mt={30} aria-hidden>
                    {k + 1}
                  </Badge>
                  <Select
                    label="Prefer the record"
                    data={MASTER_RULES.map((m) => ({ value: m.value, label: m.label }))}
                    value={rule.rule}
                    allowDeselect={false}
                    onChange={(v) => v && onChange(setMasterRuleKind(config, k, v as MasterRuleKind))}
                    error={errorAt(error, `${at}/rule`) ?? errorAt(error, at)}
                    readOnly={readOnly}
                    w={300}
                  />
                  {kind?.field && "field" in rule && (
                    <FieldSelect
                      object={config.object}
                      label="Field"
                      value={rule.field}
                      onChange={(f) => onChange(updateMasterRule(config, k, { ...rule, field: f }))}
                      error={errorAt(error, `${at}/field`)}
                      readOnly={readOnly}
                      w={240}
                    />
                  )}
                  {rule.rule === "priority" && (
                    <TagsInput
                      label="Values, best first"
                      placeholder="Type a value, press Enter"
                      value={rule.values}
                      onChange={(values) => onChange(updateMasterRule(config, k, { ...rule, values }))}
                      error={errorAt(error, `${at}/values`, true)}
                      readOnly={readOnly}
                      w={320}
                    />
                  )}
                  {!readOnly && (
                    <Group gap={4} mt={26} ml="auto">
                      <ActionIcon variant="default" size="lg" aria-label={`Move ${label.toLowerCase()} up`} disabled={k === 0} onClick={() => onChange(moveMasterRule(config, k, -1))}>
                        ↑
                      </ActionIcon>
                      <ActionIcon variant="default" size="lg" aria-label={`Move ${label.toLowerCase()} down`} disabled={k === rules.length - 1} onClick={() => onChange(moveMasterRule(config, k, 1))}>
                        ↓
                      </ActionIcon>
                      <Button variant="subtle" color="red" aria-label={`Remove ${label.toLowerCase()}`} onClick={() => onChange(removeMasterRule(config, k))}>
                        Remove
                      </Button>
                    </Group>
                  )}
                </Group>
              </Card>
              </li>
            );
          })}
        </Stack>
        {!readOnly && (
          <Button variant="light" size="xs" w="fit-content" onClick={() => onChange(addMasterRule(config))}>
            Add a master rule
          </Button>
        )}
      </Stack>
    </Section>
  );
}

function RuleSelect({ label, value, separator, onChange, error, sepError, readOnly }: { label: string; value: FieldRuleName; separator: string | undefined; onChange: (name: FieldRuleName, separator?: string) => void; error?: string | undefined; sepError?: string | undefined; readOnly: boolean }) {
  return (
    <Group gap="sm" align="flex-start">
      <Select label={label} data={FIELD_RULES} value={value} allowDeselect={false} onChange={(v) => v && onChange(v as FieldRuleName, separator)} error={error} readOnly={readOnly} w={280} />
      {value === "concatenate" && (
        <TextInput label="Joined with" value={separator ?? "; "} onChange={(e) => onChange("concatenate", e.currentTarget.value)} error={sepError} readOnly={readOnly} w={120} />
      )}
    </Group>
  );
}

function Survivorship({ config, onChange, error, readOnly }: Props) {
  const entries = survivorshipEntries(config);
  const def = config.survivorship?.default;
  return (
    <Section title="Field values" help="Which value each field of the master ends up with after the merge.">
      <Stack gap="xs">
        <RuleSelect
          label="Every field not named below"
          value={fieldRuleName(def)}
          separator={fieldRuleSeparator(def)}
          onChange={(name, sep) => onChange(setSurvivorshipDefault(config, fieldRule(name, sep)))}
          error={errorAt(error, "/config/survivorship/default")}
          sepError={errorAt(error, "/config/survivorship/default/separator")}
          readOnly={readOnly}
        />
        {entries.map(([field, rule]) => {
          const at = `/config/survivorship/fields/${pointerSegment(field)}`;
          return (
            <Card key={field} withBorder padding="sm" bg="gray.0" role="group" aria-label={`Field rule for ${field}`}>
              <Group align="flex-start" gap="sm">
                <FieldSelect object={config.object} label="Field" value={field} onChange={(f) => onChange(renameFieldRule(config, field, f))} error={errorAt(error, at) ?? errorAt(error, `${at}/rule`)} readOnly={readOnly} w={240} />
                <RuleSelect
                  label="Value"
                  value={fieldRuleName(rule)}
                  separator={fieldRuleSeparator(rule)}
                  onChange={(name, sep) => onChange(setFieldRule(config, field, fieldRule(name, sep)))}
                  sepError={errorAt(error, `${at}/separator`)}
                  readOnly={readOnly}
                />
                {!readOnly && (
                  <Button variant="subtle" color="red" mt={26} ml="auto" aria-label={`Remove the rule for ${field}`} onClick={() => onChange(removeFieldRule(config, field))}>
                    Remove
                  </Button>
                )}
              </Group>
            </Card>
          );
        })}
        {!readOnly && (
          <FieldSelect
            object={config.object}
            label="Add a rule for a field"
            placeholder="Pick a field"
            value={null}
            filter={(f) => f.writable && !entries.some(([name]) => name === f.name)}
            onChange={(f) => onChange(setFieldRule(config, f, "newest"))}
            w={300}
          />
        )}
      </Stack>
    </Section>
  );
}

function Limits({ config, onChange, error, readOnly }: Props) {
  return (
    <Section title="Safety" help="A group larger than this is reported and left alone: it nearly always means a rule that is too loose.">
      <Group align="flex-start">
        <NumberInput
          label="Largest group merged"
          description={`Records per group; default ${DEFAULT_MAX_GROUP_SIZE}`}
          min={2}
          allowDecimal={false}
          placeholder={String(DEFAULT_MAX_GROUP_SIZE)}
          value={config.max_group_size ?? ""}
          onChange={(v) => onChange(setMaxGroupSize(config, typeof v === "number" ? v : undefined))}
          error={errorAt(error, "/config/max_group_size")}
          readOnly={readOnly}
          w={240}
        />
        <FieldsSelect
          object={config.object}
          label="Never write these fields"
          description="Merging never changes these on the master record"
          placeholder={(config.read_only ?? []).length ? undefined : "None"}
          value={config.read_only ?? []}
          onChange={(fields) => onChange(setReadOnly(config, fields))}
          error={errorAt(error, "/config/read_only", true)}
          readOnly={readOnly}
          w={420}
        />
      </Group>
    </Section>
  );
}

export function MergeEditor(props: Props) {
  const { config, onChange, error, readOnly } = props;
  return (
    <Stack gap="md">
      <ObjectSelect
        value={config.object}
        onChange={(o) => onChange(setMatchMode(changeObject(config, o), matchMode(config), () => rulesOf(emptyConfig(o))))}
        description="Changing it starts the rules over: fields belong to their object"
        error={errorAt(error, "/config/object")}
        readOnly={readOnly}
        w={360}
      />
      <MatchMode {...props} />
      <RuleSets {...props} />
      <ScoreSection {...props} />
      <MasterRules {...props} />
      <Survivorship {...props} />
      <Limits {...props} />
    </Stack>
  );
}
