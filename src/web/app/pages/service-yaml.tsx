/** The service as Knative YAML (what `kumo run services describe NAME --format yaml` prints). */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { stringify } from 'yaml';
import type { Service } from '../../../serving/service.types.js';

export function Yaml({ service }: { service: Service }): JSX.Element {
  const text = stringify(service);
  const [copied, setCopied] = useState('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied('Copied.');
    } catch {
      setCopied('The browser did not allow copying; select the text instead.');
    }
  };
  return (
    <>
      <div class="toolbar">
        <button type="button" onClick={() => void copy()}>
          Copy YAML
        </button>
        <span role="status" class="muted">
          {copied}
        </span>
      </div>
      <pre tabIndex={0} aria-label={`${service.metadata.name} as Knative YAML`} data-testid="service-yaml">
        {text}
      </pre>
    </>
  );
}
