/**
 * Lets the browser save `text` as a file named `name`: a Blob behind an
 * object URL, clicked through a temporary <a download>. Navigating to a blob:
 * URL of this origin for a download is not governed by the console's CSP.
 */
export function saveTextFile(name: string, text: string, type = 'application/json'): void {
  const url = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // revoking at once may cancel the download in some browsers; the URL is only needed for the click
  window.setTimeout(() => URL.revokeObjectURL(url), 30_000);
}
