/** Jobs: running, queued and failed jobs with their progress, polled every 2 s while the page is open. */
import { useEffect, useState } from 'react';
import { gql } from '../api.ts';
import { ErrorBox } from '../components.tsx';

/** How often the page asks again: 2 s (the "poll every 2 s"; a job writes progress at most 4 times a second). */
const POLL_MS = 2000;

interface Job {
  id: string;
  kind: string;
  state: 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  done: number;
  total: number;
  progress: number;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  owner: string | null;
  heartbeatAt: string | null;
}
type List = { totalCount: number; edges: { node: Job }[] };

const JOB = 'id kind state done total progress error createdAt startedAt finishedAt owner heartbeatAt';
const QUERY = `query Jobs { running: jobs(first: 50, filter: { state: RUNNING }) { totalCount edges { node { ${JOB} } } }
  queued: jobs(first: 50, filter: { state: QUEUED }) { totalCount edges { node { ${JOB} } } }
  failed: jobs(first: 50, filter: { state: FAILED }) { totalCount edges { node { ${JOB} } } }
  succeeded: jobs(first: 1, filter: { state: SUCCEEDED }) { totalCount } }`;

export function JobsPage() {
  const [data, setData] = useState<{ running: List; queued: List; failed: List; succeeded: { totalCount: number } } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [at, setAt] = useState<Date | null>(null);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      try {
        const d = await gql<NonNullable<typeof data>>(QUERY);
        if (!live) return;
        setData(d);
        setError(null);
        setAt(new Date());
      } catch (e) {
        if (live) setError(e); // the last answer stays on screen, marked stale by the error above it
      }
      if (live) timer = setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, []);
  const active = data ? [...data.running.edges, ...data.queued.edges].map((e) => e.node) : [];
  return (
    <section className="page">
      <div className="toolbar">
        <h1>Jobs</h1>
        <span className="muted">
          {data ? `${data.running.totalCount} running · ${data.queued.totalCount} queued · ${data.failed.totalCount} failed · ${data.succeeded.totalCount} succeeded` : '…'}
        </span>
        <span className="spacer" />
        <span className="hint">{at ? `updated ${at.toLocaleTimeString()} · every ${POLL_MS / 1000} s` : ''}</span>
      </div>
      <ErrorBox error={error} />
      <h2>Running and queued</h2>
      {data && active.length === 0 ? <p className="empty">Nothing running. Vocabulary builds, reindexing and slide tiling show here.</p> : null}
      {active.length ? <JobTable jobs={active} testId="active-jobs" /> : null}
      <h2 style={{ marginTop: 20 }}>Failed</h2>
      {data && data.failed.edges.length === 0 ? <p className="empty">No failed jobs.</p> : null}
      {data?.failed.edges.length ? <JobTable jobs={data.failed.edges.map((e) => e.node)} testId="failed-jobs" /> : null}
    </section>
  );
}

function JobTable({ jobs, testId }: { jobs: Job[]; testId: string }) {
  return (
    <table className="jobs" data-testid={testId}>
      <thead>
        <tr>
          <th>kind</th>
          <th>state</th>
          <th>progress</th>
          <th>started</th>
          <th>last sign of life</th>
          <th>{jobs.some((j) => j.error) ? 'error' : 'owner'}</th>
        </tr>
      </thead>
      <tbody>
        {jobs.map((j) => (
          <tr key={j.id} data-job={j.id}>
            <td>
              <code>{j.kind}</code>
            </td>
            <td className={`state-${j.state}`}>{j.state.toLowerCase()}</td>
            <td>
              <div className="progress" role="progressbar" aria-valuenow={Math.round(j.progress * 100)} aria-valuemin={0} aria-valuemax={100}>
                <span style={{ width: `${Math.round(j.progress * 100)}%` }} />
              </div>
              <span className="hint" data-testid="job-count">
                {j.total ? `${j.done} / ${j.total} (${Math.round(j.progress * 100)} %)` : `${j.done} done`}
              </span>
            </td>
            <td>{j.startedAt ? new Date(j.startedAt).toLocaleString() : '—'}</td>
            <td>{j.heartbeatAt ? new Date(j.heartbeatAt).toLocaleTimeString() : '—'}</td>
            <td>{j.error ? <span className="state-FAILED">{j.error}</span> : <code>{j.owner ?? '—'}</code>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
