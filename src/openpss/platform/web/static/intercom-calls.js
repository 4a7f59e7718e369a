// Calls in the browser (platform-video-intercom chapter 3): the floating "incoming call"
// window on every console page, the dial pad, and the video intercom page of a call.
(() => {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const listeners = [];
  let socket = null;
  let queue = [];

  function connect() {
    socket = new WebSocket(`${scheme}//${location.host}/intercom/ws`);
    socket.onopen = () => {
      queue.forEach((m) => socket.send(m));
      queue = [];
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      listeners.forEach((fn) => fn(message));
    };
    socket.onclose = (event) => {
      // 1008: not an operator, or no SIP server: do not retry; 1013: too many tabs
      if (event.code !== 1008) setTimeout(connect, event.code === 1013 ? 30000 : 2000);
    };
  }

  function send(message) {
    const text = JSON.stringify(message);
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(text);
    else queue.push(text);
  }

  const calls = { send, on: (fn) => listeners.push(fn) };
  window.openpssCalls = calls;

  // ---- the floating window -------------------------------------------------------------
  function ringWindow() {
    const box = document.createElement("aside");
    box.id = "incoming-call";
    box.className = "incoming-call";
    box.hidden = true;
    box.setAttribute("role", "alertdialog");
    box.setAttribute("aria-labelledby", "incoming-call-title");
    box.innerHTML = `<strong id="incoming-call-title">Incoming call</strong>
      <p>from <span id="incoming-call-from"></span></p>
      <button type="button" id="incoming-call-accept">Accept</button>
      <button type="button" id="incoming-call-reject" class="secondary">Reject</button>
      <p id="incoming-call-error" class="errors" hidden></p>`;
    document.body.appendChild(box);
    return box;
  }

  function floating() {
    const box = ringWindow();
    let ringing = null;
    const hide = () => {
      box.hidden = true;
      ringing = null;
    };
    box.querySelector("#incoming-call-accept").onclick = () => send({ type: "accept", call: ringing });
    box.querySelector("#incoming-call-reject").onclick = () => {
      send({ type: "reject", call: ringing });
      hide();
    };
    calls.on((m) => {
      if (m.type === "ringing") {
        ringing = m.call.id;
        box.querySelector("#incoming-call-from").textContent = m.call.caller;
        box.querySelector("#incoming-call-error").hidden = true;
        box.hidden = false;
      } else if ((m.type === "taken" || m.type === "ended") && m.call === ringing) {
        hide();
      } else if (m.type === "accepted") {
        location.href = `/intercom/calls/${m.call}`;
      } else if (m.type === "error" && ringing) {
        const error = box.querySelector("#incoming-call-error");
        error.textContent = m.message;
        error.hidden = false;
      }
    });
  }

  // ---- dial pad ------------------------------------------------------------------------
  function dialPad() {
    const form = document.getElementById("dial-form");
    if (!form) return;
    const status = document.getElementById("dial-status");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const number = form.elements.number.value;
      status.textContent = `Calling ${number}…`;
      send({ type: "dial", number });
    });
    form.querySelectorAll("[data-key]").forEach((key) => {
      key.onclick = () => (form.elements.number.value += key.dataset.key);
    });
    calls.on((m) => {
      if (m.type === "error") status.textContent = m.message;
    });
    // Missed calls: call back the device that called; a device's "call" button calls it.
    // Delegated: device lists are swapped in by HTMX after the page loaded.
    document.addEventListener("click", (event) => {
      const button = event.target.closest("[data-dial]");
      if (!button) return;
      status.textContent = `Calling ${button.dataset.dial}…`;
      send({ type: "dial", number: button.dataset.dial });
    });
  }

  // The call switches (automatic snapshot/recording, mute): kept by the server for the next call.
  function switches() {
    document.querySelectorAll("[data-switch]").forEach((box) => {
      box.addEventListener("change", () =>
        send({ type: "switches", values: { [box.dataset.switch]: box.checked } }),
      );
    });
  }

  // ---- the call ------------------------------------------------------------------------
  async function callPage(page) {
    const callId = page.dataset.call;
    const pc = new RTCPeerConnection();
    window.openpssCall = { pc, id: callId };
    const microphone = await navigator.mediaDevices.getUserMedia({ audio: true });
    const [mic] = microphone.getAudioTracks();
    pc.addTrack(mic, microphone);
    pc.addTransceiver("video", { direction: "recvonly" });
    const video = document.getElementById("call-video");
    const audio = document.getElementById("call-audio");
    const remote = new MediaStream();
    pc.ontrack = (event) => {
      remote.addTrack(event.track);
      video.srcObject = remote;
      audio.srcObject = remote;
    };
    const status = document.getElementById("call-status");
    calls.on(async (m) => {
      if (m.type === "answer" && m.call === callId) {
        await pc.setRemoteDescription({ type: "answer", sdp: m.sdp });
        status.textContent = "Talking";
      } else if (m.type === "ended" && m.call === callId) {
        status.textContent = `Call ended (${m.state})`;
        pc.close();
        mic.stop();
        page.querySelectorAll("button").forEach((b) => (b.disabled = true));
      } else if (m.type === "door" && m.call === callId) {
        status.textContent = "Door opened";
      } else if (m.type === "switches") {
        status.textContent = "Switches saved";
      } else if (m.type === "error") {
        status.textContent = m.message;
      }
    });
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") resolve();
      pc.addEventListener("icegatheringstatechange", () => {
        if (pc.iceGatheringState === "complete") resolve();
      });
    });
    send({ type: "offer", call: callId, sdp: pc.localDescription.sdp });
    document.getElementById("call-door").onclick = () => send({ type: "door", call: callId });
    document.getElementById("call-hangup").onclick = () => send({ type: "hangup", call: callId });
    const micBox = document.getElementById("switch-mic_muted");
    const deviceBox = document.getElementById("switch-device_muted");
    mic.enabled = !micBox.checked;
    audio.muted = deviceBox.checked;
    micBox.addEventListener("change", () => (mic.enabled = !micBox.checked));
    deviceBox.addEventListener("change", () => (audio.muted = deviceBox.checked));
  }

  document.addEventListener("DOMContentLoaded", () => {
    connect();
    floating();
    dialPad();
    switches();
    const page = document.getElementById("call-page");
    if (page) callPage(page);
  });
})();
