// The commands run after a user is added or deleted (provision.postAdd / postDelete, e.g.
// `doveadm mailbox create -u %u INBOX`), kept as a durable queue the way ISPMan queued its agents' work:
// one ispmanProcesses entry under ou=processes per job, written in the same transaction as the user, so a
// job exists exactly when its user change does. A job is removed once its command succeeded; a failure is
// recorded on the entry (ispmanStatus: failed, ispmanMessage) and the job stays for the next run.
//
// Placeholders: %u the address (bob@example.com), %n the uid (bob_example_com), %d the domain, %h the mail
// store (empty when none), %% a percent sign. Values are shell-quoted.

import { spawn } from 'node:child_process';
import type { BatchWrite } from '../directory/types';
import { processesDn } from './names';
import { first, type IdAllocator, type Provisioner } from './provisioner';

export interface JobSubject {
  address: string;
  uid: string;
  domain: string;
  mailHost?: string;
}

export interface JobOutcome {
  pid: string;
  command: string;
  user: string;
  ok: boolean;
  message: string;
}

const quote = (s: string): string => (/^[A-Za-z0-9@%+=:,./_-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The command line of a job: the template with its placeholders filled in (quoted for sh). */
export function expandCommand(template: string, s: JobSubject): string {
  return template.replace(/%([%undh])/g, (_, c: string) => {
    if (c === '%') return '%';
    const v = c === 'u' ? s.address : c === 'n' ? s.uid : c === 'd' ? s.domain : s.mailHost ?? '';
    return quote(v);
  });
}

/** The writes that queue a job (with the operation's own batch), or none when no command is configured. */
export function queueJob(p: Provisioner, ids: IdAllocator, kind: 'postAdd' | 'postDelete', subject: JobSubject): BatchWrite[] {
  const template = kind === 'postAdd' ? p.settings.postAdd : p.settings.postDelete;
  if (!template) return [];
  const pid = String(ids.next('pid'));
  return [
    { op: 'add', dn: processesDn(p.base), attributes: { objectClass: ['ispmanBranch'], ou: ['processes'] }, ifMissing: true },
    {
      op: 'add',
      dn: `ispmanPid=${pid},${processesDn(p.base)}`,
      attributes: {
        objectClass: ['ispmanProcesses'],
        ou: ['processes'],
        ispmanPid: [pid],
        ispmanProcess: [kind],
        ispmanDomain: [subject.domain],
        ispmanUser: [subject.address],
        ...(subject.mailHost ? { ispmanHostName: [subject.mailHost] } : {}),
        ispmanParams: [expandCommand(template, subject)],
        ispmanStatus: ['new'],
      },
    },
  ];
}

/** Jobs waiting to run (new or failed before), oldest first. */
export function pendingJobs(p: Provisioner): Array<{ dn: string; pid: string; command: string; user: string; status: string; message: string }> {
  return p
    .find(processesDn(p.base), 'one', '(&(objectClass=ispmanProcesses)(|(ispmanProcess=postAdd)(ispmanProcess=postDelete)))')
    .map((e) => ({
      dn: e.dn,
      pid: first(e, 'ispmanPid') ?? '',
      command: first(e, 'ispmanParams') ?? '',
      user: first(e, 'ispmanUser') ?? '',
      status: first(e, 'ispmanStatus') ?? '',
      message: first(e, 'ispmanMessage') ?? '',
    }))
    .sort((a, b) => Number(a.pid) - Number(b.pid));
}

function run(command: string, timeoutMs: number): Promise<{ ok: boolean; message: string }> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'ignore', 'pipe'], timeout: timeoutMs });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-500)));
    child.on('error', (e) => resolve({ ok: false, message: e.message }));
    child.on('close', (code, signal) => {
      if (code === 0) resolve({ ok: true, message: '' });
      else {
        const why = signal ? `killed by ${signal}` : `exit code ${code}`;
        const line = err.trim().split('\n').pop() ?? '';
        resolve({ ok: false, message: line ? `${why}: ${line}` : why });
      }
    });
  });
}

/**
 * Runs every pending job once, in order. A success removes the job; a failure records why on it and keeps
 * it. Returns what happened to each.
 */
export async function runPendingJobs(p: Provisioner, timeoutMs = 60_000): Promise<JobOutcome[]> {
  const out: JobOutcome[] = [];
  for (const job of pendingJobs(p)) {
    const r = await run(job.command, timeoutMs);
    if (r.ok) await p.directory.writeBatch([{ op: 'delete', dn: job.dn }], p.ctx);
    else {
      await p.directory.writeBatch(
        [{ op: 'modify', dn: job.dn, changes: [{ operation: 'replace', attribute: 'ispmanStatus', values: ['failed'] }, { operation: 'replace', attribute: 'ispmanMessage', values: [r.message.slice(0, 4000) || 'failed'] }] }],
        p.ctx,
      );
    }
    out.push({ pid: job.pid, command: job.command, user: job.user, ok: r.ok, message: r.message });
  }
  return out;
}
