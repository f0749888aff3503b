// The manager's "Download snapshot" button: GET /v1/snapshot with the session's token in the
// Authorization header (fetch, never a token in a URL), then the JSON lines saved as a file
// through a Blob. The file is named after the snapshot's change-log position.
import { getToken, showError } from './common.js';

async function download(button, status) {
  button.disabled = true;
  status.textContent = 'Taking a snapshot…';
  try {
    let response;
    try {
      response = await fetch('/v1/snapshot', {
        headers: { Authorization: `Bearer ${getToken() ?? ''}`, Accept: 'application/x-ndjson' },
      });
    } catch {
      throw new Error('The server cannot be reached. Check that todod is running.');
    }
    if (!response.ok) {
      let message = `HTTP ${response.status}`;
      try {
        message = (await response.json())?.error?.message ?? message;
      } catch {
        // not a JSON error body: keep the status
      }
      throw new Error(`No snapshot: ${message}`);
    }
    const blob = await response.blob();
    const text = await blob.text();
    if (!text.trimEnd().endsWith('}}') || !text.includes('{"end":')) {
      throw new Error('The snapshot was cut short; try again.');
    }
    const position = response.headers.get('Todo-Snapshot-Position') ?? 'unknown';
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = `todo-snapshot-${position}.ndjson`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
    status.textContent = `Saved ${link.download}`;
  } catch (e) {
    status.textContent = '';
    showError(e.message);
  } finally {
    button.disabled = false;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  const button = document.getElementById('snapshot');
  const status = document.getElementById('snapshot-status');
  if (button && status) button.addEventListener('click', () => download(button, status));
});
