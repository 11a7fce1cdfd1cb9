// One labelled fact of a summary card (a run's, a recipe run's): a small uppercase label
// over its value.
import { Text } from "@mantine/core";

export function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div>
      <Text size="xs" fw={700} c="gray.7" tt="uppercase">
        {label}
      </Text>
      <Text size="sm" component="div">
        {children}
      </Text>
    </div>
  );
}
