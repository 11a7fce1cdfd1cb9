// Placeholder until the transform editor lands: the contract it fills (see ../types.ts).
import { Text } from "@mantine/core";
import type { Configs, EditorProps } from "../types";

export function emptyConfig(object: string): Configs["transform"] {
  return { object, steps: [] };
}

export function TransformEditor(_props: EditorProps<Configs["transform"]>) {
  return <Text c="dimmed">The transform editor is being built.</Text>;
}
