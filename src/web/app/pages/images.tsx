/** kumo's registry: repositories, then a repository's tags, digests, sizes and the revisions that run them. */
import type { JSX } from 'preact';
import { ErrorBox, Loading, useData, useNow } from '../components/ui.js';
import { enc, get } from '../lib/api.js';
import { ago, bytes, shortDigest } from '../lib/format.js';
import type { PageProps } from '../nav.js';

interface UsedBy {
  service: string;
  revision: string;
}

interface Repository {
  repository: string;
  tags: string[];
  manifestCount: number;
  sizeBytes: number;
  updatedAt: string;
  usedBy: UsedBy[];
}

interface Version {
  digest: string;
  kind: string;
  tags: string[];
  sizeBytes: number;
  createdAt: string;
  pinned: boolean;
  platforms?: string[];
  usedBy: UsedBy[];
}

function UsedByList({ items }: { items: UsedBy[] }): JSX.Element {
  if (items.length === 0) return <span class="muted">none</span>;
  return (
    <>
      {items.map((u, i) => (
        <span key={u.revision}>
          {i > 0 && ', '}
          <a href={`/services/${enc(u.service)}`}>{u.revision}</a>
        </span>
      ))}
    </>
  );
}

function Repo({ name }: { name: string }): JSX.Element {
  const now = useNow();
  const d = useData((signal) => get<{ repository: string; versions: Version[] }>(`/api/images/${name.split('/').map(enc).join('/')}`, signal), [name]);
  return (
    <>
      <p class="muted">
        <a href="/images">Images</a> ›
      </p>
      <h1>{name}</h1>
      <ErrorBox error={d.error} title="Could not read the repository" />
      {!d.data && !d.error && <Loading what="the repository" />}
      {d.data && (
        <table aria-label={`Versions of ${name}`}>
          <thead>
            <tr>
              <th scope="col">Digest</th>
              <th scope="col">Tags</th>
              <th scope="col">Kind</th>
              <th scope="col" class="num">
                Size
              </th>
              <th scope="col">Pushed</th>
              <th scope="col">Used by revisions</th>
            </tr>
          </thead>
          <tbody>
            {d.data.versions.map((v) => (
              <tr key={v.digest}>
                <th scope="row">
                  <code title={v.digest}>{shortDigest(v.digest)}</code>
                </th>
                <td>{v.tags.join(', ')}</td>
                <td>
                  {v.kind}
                  {v.platforms && <span class="muted"> ({v.platforms.join(', ')})</span>}
                </td>
                <td class="num">{bytes(v.sizeBytes)}</td>
                <td>{ago(v.createdAt, now)}</td>
                <td>
                  <UsedByList items={v.usedBy} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

export function Page({ rest }: PageProps): JSX.Element {
  const now = useNow();
  const list = useData((signal) => (rest ? Promise.resolve({ items: [] }) : get<{ items: Repository[] }>('/api/images', signal)), [rest]);
  if (rest) return <Repo name={rest} />;
  return (
    <>
      <h1>Images</h1>
      <p class="muted">
        Push with <code>docker push localhost:PORT/NAME:TAG</code> (log in with <code>kumo auth print-access-token</code> as the password of <code>oauth2accesstoken</code>).
      </p>
      <ErrorBox error={list.error} title="Could not list images" />
      {!list.data && !list.error && <Loading what="images" />}
      {list.data && list.data.items.length === 0 && <p>The registry is empty.</p>}
      {list.data && list.data.items.length > 0 && (
        <table aria-label="Repositories">
          <thead>
            <tr>
              <th scope="col">Repository</th>
              <th scope="col">Tags</th>
              <th scope="col" class="num">
                Versions
              </th>
              <th scope="col" class="num">
                Size
              </th>
              <th scope="col">Updated</th>
              <th scope="col">Used by revisions</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((r) => (
              <tr key={r.repository}>
                <th scope="row">
                  <a href={`/images/${r.repository}`}>{r.repository}</a>
                </th>
                <td>{r.tags.join(', ')}</td>
                <td class="num">{r.manifestCount}</td>
                <td class="num">{bytes(r.sizeBytes)}</td>
                <td>{ago(r.updatedAt, now)}</td>
                <td>
                  <UsedByList items={r.usedBy} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
