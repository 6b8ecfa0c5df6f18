// Tuatención — deadlines (plazos) in the desk: the badge of each conversation, the detail's row
// and the live warnings and escalations. desk.js calls window.TuaDeadlines from small hooks.
(() => {
  const TARGETS = { first_response: '1.ª respuesta', resolution: 'resolución' };
  const SYMBOLS = {
    en_plazo: '●', proximo: '▲', vencido: '✖', pausado: '⏸', cumplido: '✔', incumplido: '✖',
  };
  const due = new Intl.DateTimeFormat('es-ES', {
    weekday: 'short', day: 'numeric', month: 'numeric', hour: '2-digit', minute: '2-digit',
    timeZone: 'Europe/Madrid',
  });

  function duration(seconds) {
    const total = Math.round(Math.abs(seconds) / 60);
    const hours = Math.floor(total / 60);
    const minutes = total % 60;
    if (!hours) return `${minutes} min hábiles`;
    return minutes ? `${hours} h ${minutes} min hábiles` : `${hours} h hábiles`;
  }

  function text(d) {
    const target = TARGETS[d.target] || d.target;
    switch (d.state) {
      case 'vencido': return `Plazo vencido (${target}) hace ${duration(d.business_seconds_left)}`;
      case 'proximo': return `Vence pronto (${target}): quedan ${duration(d.business_seconds_left)}`;
      case 'en_plazo': return `En plazo (${target}): quedan ${duration(d.business_seconds_left)}`;
      default: return d.text;
    }
  }

  function badge(d) {
    if (!d) return null;
    const el = document.createElement('span');
    el.className = `badge badge--deadline badge--deadline-${d.state}`;
    const symbol = document.createElement('span');
    symbol.setAttribute('aria-hidden', 'true');
    symbol.textContent = `${SYMBOLS[d.state] || ''} `;
    el.append(symbol, text(d));
    el.title = `Vence: ${due.format(new Date(d.due_at))}`;
    return el;
  }

  function detail(d) {
    const when = document.createElement('span');
    when.className = 'deadline-due';
    const parts = [` · 1.ª respuesta antes del ${due.format(new Date(d.first_response_due))}`,
      `; resolución antes del ${due.format(new Date(d.resolution_due))}`];
    if (d.paused_seconds) parts.push(` (en pausa ${duration(d.paused_seconds)} en total)`);
    when.textContent = parts.join('');
    return [badge(d), when];
  }

  function onEvent(data, desk) {
    const alert = data.alert || {};
    const c = data.conversation;
    if (c) {
      const patch = { ...c };
      if (patch.last_message == null) delete patch.last_message; // the event carries no preview
      desk.patchLists(patch);
    }
    const me = desk.state.agent;
    const target = TARGETS[alert.target] || alert.target;
    const open = c ? () => { desk.setView('all'); desk.selectConversation(c.id, { focusDetail: true }); } : null;
    // Warnings go to the agent attending it, or to the queue's agents; supervisors get the
    // escalations only.
    const mine = c && me && me.role !== 'supervisor' && ((alert.agent_id && alert.agent_id === me.id)
      || (!alert.agent_id && desk.inMyQueue(c)));
    if (data.type === 'deadline.warning' && mine) {
      desk.toast(`Aviso de plazo: una conversación vence pronto (${target}).`, {
        kind: 'info', actionText: 'Ver', onAction: open,
      });
    } else if (data.type === 'deadline.breached' && mine) {
      desk.toast(`Plazo vencido (${target}) en una conversación; se ha avisado a la supervisión.`, {
        kind: 'error', actionText: 'Ver', onAction: open,
      });
    } else if (data.type === 'deadline.escalated') {
      const what = alert.case_code ? `el caso ${alert.case_code}` : 'una conversación';
      desk.toast(`Escalación: plazo vencido (${target}) en ${what}.`, {
        kind: 'error', actionText: 'Ver escalaciones', onAction: () => { window.location.href = '/desk/plazos'; },
      });
    }
  }

  window.TuaDeadlines = { badge, detail, onEvent };
})();
