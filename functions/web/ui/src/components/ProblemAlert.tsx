// One place that shows an API problem: its title, its detail, and the field problems no
// field on screen has claimed.
import { Alert, List } from "@mantine/core";
import { ApiError } from "../api/problem";

export function ProblemAlert({ error, title, claimed }: { error: unknown; title?: string; claimed?: (pointer: string) => boolean }) {
  if (!error) return null;
  const problem = error instanceof ApiError ? error.problem : undefined;
  const rest = error instanceof ApiError ? error.fields.filter((f) => !claimed?.(f.pointer)) : [];
  return (
    <Alert color="red" title={title ?? problem?.title ?? "Something went wrong"} role="alert">
      {problem ? problem.detail : String(error)}
      {rest.length > 0 && (
        <List size="sm" mt="xs">
          {rest.map((f) => (
            <List.Item key={`${f.pointer}:${f.detail}`}>
              {f.pointer ? <code>{f.pointer}</code> : null} {f.detail}
            </List.Item>
          ))}
        </List>
      )}
    </Alert>
  );
}
