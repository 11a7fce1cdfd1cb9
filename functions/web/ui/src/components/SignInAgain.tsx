// The CRM refused the member's own connection (revoked or expired refresh token): what
// happened, and the one way back, signing in with the CRM again and returning here.
import { Alert, Button, Text } from "@mantine/core";
import type { Problem } from "../api/problem";
import { signInAgainHref, type Me } from "../api/session";

const CRM_TITLE = { hubspot: "HubSpot", salesforce: "Salesforce", csv: "CSV" } as const;

export function SignInAgainNotice({ problem, crm }: { problem: Problem; crm: Me["account"]["crm"] }) {
  const href = signInAgainHref(crm, window.location);
  return (
    <Alert color="orange" title={`Sign in to ${CRM_TITLE[crm]} again`} role="alert" mb="md">
      <Text size="sm">{problem.detail}</Text>
      {href && (
        <Button component="a" href={href} size="xs" mt="sm">
          Sign in again
        </Button>
      )}
    </Alert>
  );
}
