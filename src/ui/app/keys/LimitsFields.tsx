// Budget and rate-limit inputs shared by the key, team, user, customer and tag forms.
import type { LimitsForm } from './keyApi.js';

const FIELDS: { name: keyof LimitsForm; label: string; placeholder: string; inputMode?: 'decimal' | 'numeric' }[] = [
  { name: 'max_budget', label: 'Max budget (USD)', placeholder: 'no limit', inputMode: 'decimal' },
  { name: 'soft_budget', label: 'Soft budget (USD, alert only)', placeholder: 'none', inputMode: 'decimal' },
  { name: 'budget_duration', label: 'Budget period', placeholder: 'e.g. 1d, 7d, 1mo (none = lifetime)' },
  { name: 'rpm_limit', label: 'Requests / minute', placeholder: 'no limit', inputMode: 'numeric' },
  { name: 'tpm_limit', label: 'Tokens / minute', placeholder: 'no limit', inputMode: 'numeric' },
  { name: 'max_parallel_requests', label: 'Parallel requests', placeholder: 'no limit', inputMode: 'numeric' },
];

export function LimitsFields({ value, onChange }: { value: LimitsForm; onChange: (next: LimitsForm) => void }) {
  return (
    <div class="grid2">
      {FIELDS.map((f) => (
        <label key={f.name}>
          {f.label}
          <input
            name={f.name}
            inputMode={f.inputMode}
            placeholder={f.placeholder}
            value={value[f.name]}
            onInput={(e) => onChange({ ...value, [f.name]: e.currentTarget.value })}
          />
        </label>
      ))}
    </div>
  );
}
