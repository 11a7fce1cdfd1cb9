// Placeholder: being built.
import { Title } from "@mantine/core";

export default function SchedulesPage() {
  return <Title order={2}>SchedulesPage</Title>;
}
