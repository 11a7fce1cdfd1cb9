// Placeholder until the merge editor lands: the contract it fills (see ../types.ts).
import { Text } from "@mantine/core";
import type { Configs, EditorProps } from "../types";

export function emptyConfig(object: string): Configs["merge"] {
  return { object, rule_sets: [] } as unknown as Configs["merge"];
}

export function MergeEditor(_props: EditorProps<Configs["merge"]>) {
  return <Text c="dimmed">The merge editor is being built.</Text>;
}
