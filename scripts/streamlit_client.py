"""A hand-made Streamlit client over the app's own websocket protocol, with no browser.

The browser tests use it for what a viewer could send without the page (a click on a control the
page never showed them); the UI benchmark for a session that starts a job with no page drawing it.

Example::

    async with Client(server.url, {}) as session:
        await session.run()  # the app's first run: learns the pages
        elements = await session.run("generate")
        go = widget(elements, "button", label="Generate")
        await session.run("generate", widgets=({"id": go.id, "trigger_value": True},))
"""

from __future__ import annotations

import asyncio


class Client:
    """One Streamlit session over the websocket, no browser: each ``run`` is one script run."""

    def __init__(self, url: str, headers: dict[str, str]):
        self.url, self.headers = url.replace("http", "ws", 1) + "/_stcore/stream", headers
        self.pages: dict[str, str] = {}  # url path → page script hash

    async def __aenter__(self):
        import websockets

        self.ws = await websockets.connect(self.url, additional_headers=self.headers, subprotocols=["streamlit"],
                                           max_size=None)
        return self

    async def __aexit__(self, *exc):
        await self.ws.close()

    async def run(self, page: str = "", widgets: tuple = ()) -> list:
        """One script run on ``page`` with ``widgets`` (WidgetState kwargs); the elements it drew."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        msg.rerun_script.page_script_hash = self.pages.get(page, "")
        for state in widgets:
            msg.rerun_script.widget_states.widgets.add(**state)
        await self.ws.send(msg.SerializeToString())
        elements = []
        while True:
            forward = ForwardMsg.FromString(await asyncio.wait_for(self.ws.recv(), 60))
            kind = forward.WhichOneof("type")
            if kind == "navigation":
                self.pages.update({p.url_pathname: p.page_script_hash for p in forward.navigation.app_pages})
            elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                elements.append(forward.delta.new_element)
            elif kind == "script_finished":
                return elements


def widget(elements, kind: str, ending: str = "", label: str = ""):
    for element in elements:
        if element.WhichOneof("type") == kind:
            inner = getattr(element, kind)
            if inner.id.endswith(ending) and label in getattr(inner, "label", ""):
                return inner
    return None
