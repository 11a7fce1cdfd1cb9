// What the person has changed so far: "3 cells edited", each cell's old and new value with
// its own Undo, any problem with it, and Discard all.
import { Button, Group, Paper, Table, Text, VisuallyHidden } from "@mantine/core";
import type { CrmField } from "../../../../components/crm";
import { checkValue } from "./checks";
import { cellKey, editedCount, undoEdit, type CellEdit } from "./edits";
import { formatCell } from "./format";
import { fieldLabel } from "./GridTable";
import type { GridRecord } from "./records";

export function EditsPanel({
  edits,
  onEditsChange,
  fields,
  recordsById,
  problems,
  readOnly,
}: {
  edits: CellEdit[];
  onEditsChange: (edits: CellEdit[]) => void;
  fields: Map<string, CrmField>;
  recordsById: Map<string, GridRecord>;
  problems: Map<string, string>;
  readOnly: boolean;
}) {
  const withProblems = edits.filter((e) => {
    const f = fields.get(e.field);
    return (f && checkValue(f, e.value)) || problems.has(cellKey(e.id, e.field));
  }).length;
  return (
    <Paper withBorder p="sm" component="section" aria-label="Edited cells">
      <Group justify="space-between" wrap="nowrap">
        <Text fw={600} role="status">
          {edits.length === 0 ? "No cells edited yet" : editedCount(edits.length)}
          {withProblems > 0 && (
            <Text span c="red.8" fw={600}>
              {` · ${withProblems} with ${withProblems === 1 ? "a problem" : "problems"} to fix`}
            </Text>
          )}
        </Text>
        {edits.length > 0 && !readOnly && (
          <Button variant="default" color="red" size="xs" onClick={() => onEditsChange([])}>
            Discard all
          </Button>
        )}
      </Group>
      {edits.length === 0 ? (
        <Text size="sm" c="dimmed" mt={4}>
          {readOnly ? "You can view this grid but not edit records." : "Click a cell (or press Enter on it) to change its value. Nothing is written to the CRM until you run."}
        </Text>
      ) : (
        <div style={{ maxHeight: 220, overflowY: "auto", marginTop: 8 }}>
          <Table striped={false} withRowBorders verticalSpacing={4} fz="sm">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Record</Table.Th>
                <Table.Th scope="col">Field</Table.Th>
                <Table.Th scope="col">Was</Table.Th>
                <Table.Th scope="col">Now</Table.Th>
                <Table.Th scope="col">
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {edits.map((e) => {
                const field = fields.get(e.field);
                const label = fieldLabel(fields, e.field);
                const record = recordsById.get(e.id);
                const was = record ? formatCell(field, record.properties[e.field]) : undefined;
                const problem = (field && checkValue(field, e.value)) ?? problems.get(cellKey(e.id, e.field));
                return (
                  <Table.Tr key={cellKey(e.id, e.field)}>
                    <Table.Td>{e.id}</Table.Td>
                    <Table.Td>{label}</Table.Td>
                    <Table.Td c="gray.7">{was === undefined ? "(not loaded)" : was || "(empty)"}</Table.Td>
                    <Table.Td>
                      {formatCell(field, e.value) || "(cleared)"}
                      {problem && (
                        <Text size="xs" c="red.8">
                          {problem}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      {!readOnly && (
                        <Button variant="default" size="compact-xs" onClick={() => onEditsChange(undoEdit(edits, e.id, e.field))} aria-label={`Undo ${label} of record ${e.id}`}>
                          Undo
                        </Button>
                      )}
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </div>
      )}
    </Paper>
  );
}
