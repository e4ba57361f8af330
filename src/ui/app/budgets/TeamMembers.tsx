// A team's members with their role and in-team budget; add and remove members.
import { useState } from 'preact/hooks';
import { Empty, ErrorBox, Loading, Modal, useAsync } from '../components.js';
import { usd } from '../format.js';
import { addMember, removeMember, teamMembers } from './budgetKinds.js';

export function TeamMembersDialog({ teamId, onClose }: { teamId: string; onClose: () => void }) {
  const [members, reload] = useAsync((signal) => teamMembers(teamId, signal), [teamId]);
  const [userId, setUserId] = useState('');
  const [role, setRole] = useState('user');
  const [error, setError] = useState<string | null>(null);
  const act = async (action: () => Promise<unknown>) => {
    setError(null);
    try {
      await action();
      reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <Modal title={`Members of ${teamId}`} onClose={onClose}>
      {members.status === 'loading' && <Loading />}
      {members.status === 'error' && <ErrorBox error={members.error} onRetry={reload} />}
      {members.status === 'ok' && members.data.length === 0 && <Empty>No members yet.</Empty>}
      {members.status === 'ok' && members.data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Role</th>
              <th scope="col" class="num">
                Budget in team
              </th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {members.data.map((m) => (
              <tr key={m.user_id}>
                <td>{m.user_id}</td>
                <td>{m.role ?? 'user'}</td>
                <td class="num">{m.max_budget_in_team != null ? usd(m.max_budget_in_team) : '—'}</td>
                <td>
                  <button type="button" class="link" onClick={() => act(() => removeMember(teamId, m.user_id))}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (userId.trim()) void act(() => addMember(teamId, userId.trim(), role)).then(() => setUserId(''));
        }}
      >
        <input
          aria-label="User id"
          placeholder="user id"
          value={userId}
          onInput={(e) => setUserId(e.currentTarget.value)}
        />
        <select aria-label="Role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
          <option value="user">user</option>
          <option value="admin">admin</option>
        </select>
        <button type="submit">Add member</button>
      </form>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
    </Modal>
  );
}
