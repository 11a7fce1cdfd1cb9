// The two team changes that cannot be clicked back: handing over ownership, and removing
// someone (optionally erasing their personal data). Each says exactly what will happen.
import { useState } from "react";
import { Button, Checkbox, Group, List, Modal, Stack, Text } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { unwrap } from "../../../api/problem";
import { meKey } from "../../../api/session";
import { ProblemAlert } from "../../../components/ProblemAlert";
import { teamKey } from "../queries";
import { displayName, transferPatch, type Member } from "../team";
import { notify } from "../notify";

export function TransferDialog({ member, onClose }: { member: Member | null; onClose: () => void }) {
  return (
    <Modal closeButtonProps={{ "aria-label": "Close" }} opened={member !== null} onClose={onClose} title="Transfer ownership">
      {member && <TransferForm member={member} onClose={onClose} />}
    </Modal>
  );
}

function TransferForm({ member, onClose }: { member: Member; onClose: () => void }) {
  const client = useQueryClient();
  const name = displayName(member);
  const transfer = useMutation({
    mutationFn: () => unwrap(api.PATCH("/team/members/{id}", { params: { path: { id: member.id } }, body: transferPatch })),
    onSuccess: async () => {
      await Promise.all([client.invalidateQueries({ queryKey: teamKey }), client.invalidateQueries({ queryKey: meKey })]);
      notify(`${name} is now the owner.`, "green");
      onClose();
    },
  });
  return (
    <Stack>
      <Text>
        Make <strong>{name}</strong> ({member.email}) the owner of this Steward account?
      </Text>
      <Text size="sm">An account has exactly one owner. Once you confirm:</Text>
      <List size="sm" spacing={4}>
        <List.Item>{name} gets write access to every module and is the only one who can transfer ownership again.</List.Item>
        <List.Item>
          You stop being the owner: you keep the role and module access stored for you (admin with write access everywhere, if you created the
          account), and admins can then change your access or remove you.
        </List.Item>
        <List.Item>Only {name} can give ownership back.</List.Item>
      </List>
      <ProblemAlert error={transfer.error} title="Ownership was not transferred" />
      <Group justify="flex-end">
        <Button variant="default" onClick={onClose}>
          Cancel
        </Button>
        <Button color="red" onClick={() => transfer.mutate()} loading={transfer.isPending}>
          Transfer ownership to {name}
        </Button>
      </Group>
    </Stack>
  );
}

export function RemoveDialog({ member, onClose }: { member: Member | null; onClose: () => void }) {
  return (
    <Modal closeButtonProps={{ "aria-label": "Close" }} opened={member !== null} onClose={onClose} title="Remove from the team">
      {member && <RemoveForm member={member} onClose={onClose} />}
    </Modal>
  );
}

function RemoveForm({ member, onClose }: { member: Member; onClose: () => void }) {
  const client = useQueryClient();
  const [purge, setPurge] = useState(false);
  const name = displayName(member);
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE("/team/members/{id}", { params: { path: { id: member.id }, query: { purge } } })),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: teamKey });
      notify(purge ? `${name} was removed and their personal data erased.` : `${name} was removed.`);
      onClose();
    },
  });
  return (
    <Stack>
      <Text>
        Remove <strong>{name}</strong> ({member.email}) from this Steward account?
      </Text>
      <Text size="sm">
        They are signed out everywhere at once and lose access to every module. Their runs stay in the Activity Tracker, and schedules they
        created keep running (schedules run as the integration user). They stay on this list as removed; you can invite them again later.
      </Text>
      <Checkbox
        checked={purge}
        onChange={(e) => setPurge(e.currentTarget.checked)}
        label="Also purge their personal data"
        description="Erases their name, email address and last sign-in from the team list, and deletes their stored CRM connection. Runs they started still name them as they were recorded."
      />
      <ProblemAlert error={remove.error} title={`${name} was not removed`} />
      <Group justify="flex-end">
        <Button variant="default" onClick={onClose}>
          Cancel
        </Button>
        <Button color="red" onClick={() => remove.mutate()} loading={remove.isPending}>
          {purge ? `Remove and purge ${name}` : `Remove ${name}`}
        </Button>
      </Group>
    </Stack>
  );
}
