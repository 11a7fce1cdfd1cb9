// Placeholder until the bulk editor lands: the contract it fills (see ../types.ts).
import { Text } from "@mantine/core";
import type { Configs, EditorProps } from "../types";

export function emptyConfig(object: string): Configs["bulk"] {
  return { object, actions: [] } as unknown as Configs["bulk"];
}

export function BulkEditor(_props: EditorProps<Configs["bulk"]>) {
  return <Text c="dimmed">The bulk editor is being built.</Text>;
}
