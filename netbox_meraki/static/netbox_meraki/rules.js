// Rule rows (site-name and interface-name rules): add a row, move a row up or down (first match wins, so order
// matters). Each table names its formset's prefix, its row template and its "add" button in data attributes.
(function () {
  document.querySelectorAll('table[data-rule-prefix]').forEach((table) => {
    const body = table.querySelector('tbody');
    const total = document.getElementById(`id_${table.dataset.rulePrefix}-TOTAL_FORMS`);
    const template = document.getElementById(table.dataset.ruleTemplate);
    const add = document.getElementById(table.dataset.ruleAdd);

    function changed() {
      // Let the live preview know the rules changed.
      table.dispatchEvent(new Event('input', { bubbles: true }));
    }

    function swapValues(row, other) {
      const inputs = row.querySelectorAll('input[type=text]');
      const others = other.querySelectorAll('input[type=text]');
      inputs.forEach((input, index) => {
        const value = input.value;
        input.value = others[index].value;
        others[index].value = value;
      });
      changed();
    }

    table.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-move]');
      if (!button) {
        return;
      }
      event.preventDefault();
      const row = button.closest('tr');
      const other = button.dataset.move === 'up' ? row.previousElementSibling : row.nextElementSibling;
      if (other) {
        swapValues(row, other);
      }
    });

    if (add) {
      add.addEventListener('click', (event) => {
        event.preventDefault();
        const index = parseInt(total.value, 10);
        const holder = document.createElement('tbody');
        holder.innerHTML = template.innerHTML.replace(/__prefix__/g, index);
        body.appendChild(holder.firstElementChild);
        total.value = index + 1;
      });
    }
  });
})();
