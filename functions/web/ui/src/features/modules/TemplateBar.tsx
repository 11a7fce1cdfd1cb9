// The template bar: pick one of the module's saved templates, start a new one, save it (with
// the version read: a stale save offers a reload), copy, delete, copy its share link; the
// template's name and description; whether there are unsaved changes.
import { useState } from "react";
import { Alert, Badge, Button, Card, Group, Modal, Select, Stack, Text, TextInput, Textarea } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { api } from "../../api/client";
import { errorAt, unwrap } from "../../api/problem";
import type { components } from "../../api/schema";
import type { ModuleId } from "../../api/session";

export type Template = components["schemas"]["Template"];

export const templatesKey = (module: ModuleId) => ["templates", "list", module] as const;
export const templateKey = (id: string) => ["templates", "one", id] as const;

/** The module's templates (the first 100; the picker searches them by name). */
export function useTemplates(module: ModuleId) {
  return useQuery({
    queryKey: templatesKey(module),
    queryFn: () => unwrap(api.GET("/templates", { params: { query: { module, limit: 100 } } })),
  });
}

export interface TemplateBarProps {
  module: ModuleId;
  moduleTitle: string;
  current: Template | undefined;
  name: string;
  description: string;
  onName: (name: string) => void;
  onDescription: (description: string) => void;
  dirty: boolean;
  readOnly: boolean;
  busy: "save" | "copy" | "delete" | undefined;
  error: unknown;
  /** A save found the template changed by someone else since it was read. */
  stale: boolean;
  onPick: (id: string) => void;
  onNew: () => void;
  onSave: () => void;
  onCopy: () => void;
  onDelete: () => void;
  onShare: () => void;
  onReload: () => void;
}

export function TemplateBar(p: TemplateBarProps) {
  const templates = useTemplates(p.module);
  const [confirm, setConfirm] = useState<"delete" | { pick: string } | "new">();
  const list = templates.data?.templates ?? [];
  const data = list.map((t) => ({ value: t.id, label: t.name || "(no name)" }));
  if (p.current && !data.some((d) => d.value === p.current?.id)) data.unshift({ value: p.current.id, label: p.current.name });

  // Leaving unsaved changes asks first.
  const pick = (id: string) => (p.dirty && p.current?.id !== id ? setConfirm({ pick: id }) : p.onPick(id));
  const fresh = () => (p.dirty ? setConfirm("new") : p.onNew());

  return (
    <Card withBorder padding="md" component="section" aria-label="Template">
      <Stack gap="sm">
        <Group align="flex-end" gap="sm" wrap="wrap">
          <Select
            label="Template"
            placeholder={templates.isPending ? "Loading templates…" : list.length ? "Pick a saved template" : "No saved templates yet"}
            searchable
            data={data}
            value={p.current?.id ?? null}
            onChange={(id) => id && pick(id)}
            nothingFoundMessage="No template by that name"
            w={320}
          />
          <Button variant="default" onClick={fresh}>
            New
          </Button>
          {!p.readOnly && (
            <Button onClick={p.onSave} loading={p.busy === "save"} disabled={Boolean(p.busy) || (!p.dirty && Boolean(p.current))}>
              Save
            </Button>
          )}
          {!p.readOnly && p.current && (
            <Button variant="default" onClick={p.onCopy} loading={p.busy === "copy"} disabled={Boolean(p.busy)}>
              Copy
            </Button>
          )}
          {p.current && (
            <Button variant="default" onClick={p.onShare}>
              Copy share link
            </Button>
          )}
          {!p.readOnly && p.current && (
            <Button variant="subtle" color="red" onClick={() => setConfirm("delete")} loading={p.busy === "delete"} disabled={Boolean(p.busy)}>
              Delete
            </Button>
          )}
          {p.dirty ? (
            <Badge color="yellow.4" variant="filled" autoContrast size="lg" role="status">
              {p.current ? "Unsaved changes" : "Not saved yet"}
            </Badge>
          ) : (
            p.current && (
              <Badge color="green" variant="light" size="lg" role="status">
                Saved
              </Badge>
            )
          )}
        </Group>
        {p.stale && (
          <Alert color="orange" title="Someone else changed this template" role="alert">
            <Group justify="space-between" align="center">
              <Text size="sm">It was saved by someone else after you opened it, so your save was not made. Reload it to see their version (your changes here are discarded).</Text>
              <Button onClick={p.onReload}>
                Reload
              </Button>
            </Group>
          </Alert>
        )}
        <Group align="flex-start" gap="sm" wrap="wrap">
          <TextInput
            label="Name"
            placeholder={`My ${p.moduleTitle} template`}
            value={p.name}
            onChange={(e) => p.onName(e.currentTarget.value)}
            error={errorAt(p.error, "/name")}
            readOnly={p.readOnly}
            w={320}
          />
          <Textarea
            label="Description"
            placeholder="What it does and when to use it"
            autosize
            minRows={1}
            maxRows={4}
            value={p.description}
            onChange={(e) => p.onDescription(e.currentTarget.value)}
            error={errorAt(p.error, "/description")}
            readOnly={p.readOnly}
            style={{ flex: 1, minWidth: 280 }}
          />
        </Group>
      </Stack>
      <Modal opened={confirm !== undefined} onClose={() => setConfirm(undefined)} title={confirm === "delete" ? "Delete this template?" : "Discard your unsaved changes?"} centered>
        <Stack>
          <Text size="sm">
            {confirm === "delete"
              ? `“${p.current?.name ?? ""}” is deleted for everyone in the account. Its runs stay in the Activity Tracker; schedules using it stop.`
              : "Your changes to this template have not been saved. Leave them?"}
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirm(undefined)}>
              Cancel
            </Button>
            <Button
              color="red"
              onClick={() => {
                const c = confirm;
                setConfirm(undefined);
                if (c === "delete") p.onDelete();
                else if (c === "new") p.onNew();
                else if (c) p.onPick(c.pick);
              }}
            >
              {confirm === "delete" ? "Delete" : "Discard changes"}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Card>
  );
}
