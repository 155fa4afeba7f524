"""Driving the 3D viewport's sidebar with the real mouse under Xvfb (xdotool), for the GUI tests: open it, click down
its tab strip until a panel draws, drag it wider, scroll it. Each step is a generator run by an XvfbScenario's timer
(`scenario.host` runs xdotool here, or asks the test runner outside for a chrooted Blender)."""

import bpy


def viewport_sidebar():
    """Opens the sidebar of the first 3D viewport; returns (window, area, region)."""
    for window in bpy.context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == "VIEW_3D":
                area.spaces.active.show_region_ui = True
                area.tag_redraw()
                return window, area, next(r for r in area.regions if r.type == "UI")
    raise AssertionError("no 3D viewport in the start-up screen")


def open_tab(scenario, window, area, drawn):
    """Clicks down the tab strip (the sidebar's right edge) until `drawn()` goes up: no Blender lets a script
    choose the tab (Region.active_panel_category is read-only, and missing on 3.4)."""
    region = next(r for r in area.regions if r.type == "UI")
    # Region coordinates count from the window's bottom left; X's from the screen's top left.
    x = window.x + region.x + region.width - 11
    top = window.y + window.height - (region.y + region.height)
    for offset in range(15, min(region.height, 450), 20):
        before = drawn()
        yield from scenario.host(["xdotool", "mousemove", str(x), str(top + offset), "click", "1"])
        yield 0.3
        if drawn() > before:
            yield from scenario.host(["xdotool", "mousemove", "400", "400"])  # no tooltip over the panel
            return [x, top + offset]
    raise AssertionError("clicking down the sidebar's tabs at x={} never showed the Sidecar tab".format(x))


def widen(scenario, window, by=230):
    """Drags the sidebar's left edge to the left, one step per timer run (Blender must see the pointer first)."""
    area = next(a for a in window.screen.areas if a.type == "VIEW_3D")
    region = next(r for r in area.regions if r.type == "UI")
    x = window.x + region.x + 8
    y = window.y + window.height - (region.y + region.height // 2)
    for args in (
        ["mousemove", x, y],
        ["mousedown", 1],
        ["mousemove", x - 30, y],
        ["mousemove", x - by, y],
        ["mouseup", 1],
        ["mousemove", 300, 400],
    ):
        yield from scenario.host(["xdotool"] + [str(a) for a in args])
        yield 0.15


def scroll(scenario, window, clicks):
    """Scrolls the sidebar down by `clicks` wheel steps."""
    area = next(a for a in window.screen.areas if a.type == "VIEW_3D")
    region = next(r for r in area.regions if r.type == "UI")
    x = window.x + region.x + region.width // 2
    y = window.y + window.height - (region.y + region.height // 2)
    yield from scenario.host(["xdotool", "mousemove", str(x), str(y)])
    yield 0.2
    yield from scenario.host(["xdotool", "click", "--repeat", str(clicks), "--delay", "30", "5"])
    yield 0.3
    yield from scenario.host(["xdotool", "mousemove", "300", "400"])
