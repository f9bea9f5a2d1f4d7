// The Cleanup tab: each kind's help says what its chosen delete policy does to an object Meraki no longer has, and
// follows the select when it changes (the help holds one text per policy, marked with data-policy).
(function () {
  document.querySelectorAll('select[name^="policy_"]').forEach((select) => {
    const help = document.getElementById(`${select.id}_helptext`);
    if (!help) {
      return;
    }
    select.addEventListener('change', () => {
      help.querySelectorAll('[data-policy]').forEach((text) => {
        text.classList.toggle('d-none', text.dataset.policy !== select.value);
      });
    });
  });
})();
