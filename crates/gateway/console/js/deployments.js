// A function's deployments: upload a component by drag-and-drop (chunked, with progress),
// follow its build and read the build logs, activate a ready one, download its source.

import { api } from './api.js';
import { errorBox, every, h, replace } from './dom.js';
import { bytes, date } from './format.js';
import { statusBadge } from './functions.js';
import { uploadDeployment } from './upload.js';

const BUILDING = new Set(['waiting', 'processing', 'building']);

async function download(fn, deployment, status) {
  try {
    const blob = await api.download(fn.$id, deployment.$id);
    const magic = new Uint8Array(await blob.slice(0, 2).arrayBuffer());
    const extension = magic[0] === 0x1f && magic[1] === 0x8b ? 'tar.gz' : 'wasm';
    const url = URL.createObjectURL(blob);
    const link = h('a', { href: url, download: `${fn.$id}-${deployment.$id}.${extension}`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (error) {
    replace(status, errorBox(error));
  }
}

// The API counts build time in whole seconds.
function buildTime(deployment) {
  if (BUILDING.has(deployment.status)) return '…';
  return deployment.buildDuration ? `${deployment.buildDuration} s` : '< 1 s';
}

function deploymentRow(fn, deployment, { onActivate, status }) {
  const active = fn.deploymentId === deployment.$id;
  const logs = deployment.buildLogs
    ? h('details', { class: 'build-logs' }, h('summary', {}, 'Build logs'), h('pre', { class: 'output logs' }, deployment.buildLogs))
    : null;
  return h('tr', { dataset: { deploymentId: deployment.$id } },
    h('td', {}, h('code', {}, deployment.$id), active ? h('span', { class: 'badge ok active-marker' }, 'active') : null,
      h('div', { class: 'sub' }, date(deployment.$createdAt)), logs),
    h('td', {}, statusBadge(deployment.status)),
    h('td', { class: 'num' }, bytes(deployment.sourceSize)),
    h('td', { class: 'num' }, buildTime(deployment)),
    h('td', { class: 'row-actions' },
      deployment.status === 'ready' && !active
        ? h('button', { type: 'button', class: 'button small activate', onclick: () => onActivate(deployment) }, 'Activate') : null,
      h('button', { type: 'button', class: 'button ghost small download', onclick: () => download(fn, deployment, status) }, 'Download')));
}

function dropZone(onFile) {
  const input = h('input', { type: 'file', accept: '.wasm,.tar.gz,.tgz,application/wasm', hidden: true, id: 'deployment-file',
    onchange: () => { if (input.files[0]) onFile(input.files[0]); input.value = ''; } });
  const zone = h('div', { class: 'dropzone', id: 'dropzone', tabindex: 0, role: 'button',
    'aria-label': 'Upload a deployment: drop a .wasm component here or choose a file',
    onclick: () => input.click(),
    onkeydown: (event) => { if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); input.click(); } },
    ondragover: (event) => { event.preventDefault(); zone.classList.add('over'); },
    ondragleave: () => zone.classList.remove('over'),
    ondrop: (event) => {
      event.preventDefault();
      zone.classList.remove('over');
      const file = event.dataTransfer?.files?.[0];
      if (file) onFile(file);
    } },
  h('div', { class: 'dropzone-title' }, 'Drop a .wasm component here'),
  h('div', { class: 'muted' }, 'or click to choose a file (.wasm, or .tar.gz holding one)'),
  input);
  return zone;
}

export async function deploymentsView({ fn, root, signal, reload }) {
  const activate = h('input', { type: 'checkbox', checked: true, name: 'activate', id: 'deployments-activate' });
  const progress = h('div', { class: 'upload-progress', id: 'upload-progress' });
  const status = h('div');
  const rows = h('tbody');
  let uploading = false;

  const load = async () => {
    const [current, list] = await Promise.all([reload(), api.deployments(fn.$id)]);
    fn = current;
    if (signal.aborted) return list;
    replace(status);
    replace(rows, list.deployments.length === 0
      ? h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'No deployments yet.'))
      : list.deployments.map((d) => deploymentRow(fn, d, { onActivate: activateDeployment, status })));
    return list;
  };
  const activateDeployment = async (deployment) => {
    try {
      await api.activate(fn.$id, deployment.$id);
      await load();
    } catch (error) {
      replace(status, errorBox(error));
    }
  };
  const upload = async (file) => {
    if (uploading) return;
    uploading = true;
    const bar = h('progress', { max: file.size, value: 0 });
    const label = h('span', { class: 'progress-label' }, `Uploading ${file.name}…`);
    replace(progress, h('div', { class: 'card progress-card' }, label, bar));
    try {
      const deployment = await uploadDeployment(fn.$id, file, {
        activate: activate.checked,
        signal,
        onProgress: (sent, total) => {
          bar.value = sent;
          label.textContent = `Uploading ${file.name}: ${bytes(sent)} of ${bytes(total)} (${Math.round((sent / total) * 100)} %)`;
        },
      });
      label.textContent = `Uploaded ${file.name} (${bytes(file.size)}) as deployment ${deployment.$id}; the build follows below.`;
      await load();
    } catch (error) {
      replace(progress, errorBox(error));
    } finally {
      uploading = false;
    }
  };

  replace(root, h('div', { class: 'deployments' },
    h('div', { class: 'card' },
      dropZone(upload),
      h('label', { class: 'check' }, activate, 'Activate when the build is ready'),
      progress),
    status,
    h('div', { class: 'table-wrap card flush' }, h('table', { class: 'table', id: 'deployments' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Deployment'), h('th', {}, 'Status'), h('th', { class: 'num' }, 'Size'),
        h('th', { class: 'num' }, 'Build'), h('th', {}, ''))),
      rows))));
  try {
    await load();
  } catch (error) {
    replace(status, errorBox(error));
  }
  // Builds are followed closely; otherwise the list refreshes now and then.
  let quiet = 0;
  every(1000, signal, async () => {
    quiet += 1;
    const building = [...rows.querySelectorAll('.badge')].some((b) => BUILDING.has(b.textContent));
    if (!building && quiet < 10) return;
    quiet = 0;
    await load();
  });
}
