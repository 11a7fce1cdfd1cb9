// A short confirmation in the corner; its close button named (axe: every button has a name).
import { notifications } from "@mantine/notifications";

export function notify(message: string, color?: "green") {
  notifications.show({ message, ...(color ? { color } : {}), closeButtonProps: { "aria-label": "Dismiss" } });
}
