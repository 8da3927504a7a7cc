// Forms whose work takes a while (Glue import, re-sync, granting) say so while it runs and
// cannot be sent twice: <form data-busy="Importing from Glue…">. No framework, no inline code.
document.addEventListener('submit', (event) => {
  const form = event.target;
  const busy = form instanceof HTMLFormElement ? form.dataset.busy : undefined;
  if (!busy || event.defaultPrevented) return;
  if (form.getAttribute('aria-busy') === 'true') {
    event.preventDefault();
    return;
  }
  form.setAttribute('aria-busy', 'true');
  const button = event.submitter;
  // Disabled after the browser has read the submitter's name and value.
  setTimeout(() => {
    if (button) {
      button.disabled = true;
      button.classList.add('busy');
    }
  }, 0);
  const status = document.createElement('p');
  status.className = 'progress';
  status.setAttribute('role', 'status');
  status.textContent = busy;
  form.insertAdjacentElement('afterend', status);
});
