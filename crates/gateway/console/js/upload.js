// Deployment uploads as the Appwrite SDKs send them: a file up to 5 MiB in one multipart
// request; a larger one in 5 MiB chunks, one after the other, each repeating the form fields
// with `Content-Range: bytes START-END/TOTAL`, and every chunk after the first naming the
// deployment the first answer created in `x-appwrite-id`. XMLHttpRequest, because fetch reports
// no upload progress.

import { ApiError, authHeaders } from './api.js';

export const CHUNK_SIZE = 5 * 1024 * 1024;

function post(path, form, headers, onProgress, signal) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body));
    };
    xhr.onerror = () => reject(new ApiError(0, { message: 'The upload failed: the connection was lost.' }));
    xhr.onabort = () => reject(new ApiError(0, { message: 'The upload was cancelled.' }));
    signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(form);
  });
}

/**
 * Uploads `file` as a new deployment of `functionId`; `onProgress(sent, total)` follows the
 * bytes. Resolves with the Deployment the last request answered.
 */
export async function uploadDeployment(functionId, file, { activate = true, onProgress = () => {}, signal } = {}) {
  const path = `/v1/functions/${encodeURIComponent(functionId)}/deployments`;
  const headers = authHeaders();
  const form = (blob) => {
    const data = new FormData();
    data.append('activate', activate ? 'true' : 'false');
    data.append('code', blob, file.name);
    return data;
  };
  const size = file.size;
  if (size <= CHUNK_SIZE) {
    const deployment = await post(path, form(file), headers, (part) => onProgress(part * size, size), signal);
    onProgress(size, size);
    return deployment;
  }
  let deployment = null;
  for (let start = 0; start < size; start += CHUNK_SIZE) {
    const end = Math.min(start + CHUNK_SIZE, size);
    const chunkHeaders = { ...headers, 'Content-Range': `bytes ${start}-${end - 1}/${size}` };
    if (deployment?.$id) chunkHeaders['x-appwrite-id'] = deployment.$id;
    const length = end - start;
    deployment = await post(path, form(file.slice(start, end)), chunkHeaders,
      (part) => onProgress(start + part * length, size), signal);
    onProgress(end, size);
  }
  return deployment;
}
