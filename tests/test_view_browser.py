"""graphrun view in a real browser: Debian's headless Chromium driven by selenium (with Debian's
chromedriver; no browser is ever downloaded). The tests press the step keys and read what the
page shows (the highlighted node, the edges in play, the chain-rule line), click a param and
read its paths and their sum, and check a screenshot for a real rendering.

Without a browser they skip, saying how to run them: `apt-get install -y chromium
chromium-driver` (as root; .ci/run does it) and `pip install -e '.[test]'` (selenium, pillow).
GRAPHRUN_CHROMIUM and GRAPHRUN_CHROMEDRIVER name other binaries.
"""

import io
import os
import re
import shutil
import tempfile

import pytest

import graphrun
from conftest import ROOT, call
from test_view import REUSE, explain_sections

CHROMIUM = os.environ.get("GRAPHRUN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = os.environ.get("GRAPHRUN_CHROMEDRIVER") or shutil.which("chromedriver") or \
    "/usr/bin/chromedriver"
HOW = ("the browser tests of graphrun view need Debian's chromium and chromium-driver "
       "(apt-get install -y chromium chromium-driver, as root; .ci/run installs them) and the "
       "test extra (pip install -e '.[test]': selenium, pillow)")
# the flags that work on this kind of machine: no sandbox (root), and nothing that calls home
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,900")


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason=HOW)
    from selenium.webdriver.chrome.service import Service
    if not (os.access(CHROMIUM, os.X_OK) and os.access(DRIVER, os.X_OK)):
        pytest.skip(f"no browser at {CHROMIUM} and {DRIVER}: {HOW}")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="graphrun-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(driver, tmp_path, graph, name="page.html"):
    target = tmp_path / name
    code, _, err = call("view", str(graph), "-o", str(target))
    assert (code, err) == (0, "")
    driver.get(target.as_uri())
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(driver, 10).until(
        lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "1")
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    return driver


def press(driver, key, times=1):
    from selenium.webdriver.common.action_chains import ActionChains
    for _ in range(times):
        ActionChains(driver).send_keys(key).perform()


def shown(driver):
    """(the highlighted node's name, the chain-rule line, the step number, the edges in play)"""
    from selenium.webdriver.common.by import By
    current = driver.find_elements(By.CSS_SELECTOR, "g.node.current")
    edges = [e.get_attribute("id") for e in driver.find_elements(By.CSS_SELECTOR, "g.edge.inplay")]
    return (current[0].get_attribute("data-name") if current else None,
            driver.find_element(By.ID, "line").text,
            int(driver.find_element(By.TAG_NAME, "body").get_attribute("data-step")), edges)


def test_the_step_keys_walk_forward_then_backward(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    simple = os.path.join(ROOT, "graphs", "simple.yaml")
    forward, entries = explain_sections(call("explain", simple)[1])
    d = open_page(browser, tmp_path, simple)
    assert shown(d)[0] is None and shown(d)[2] == 0
    seen = []
    for _ in range(len(forward) + len(entries)):
        press(d, Keys.ARROW_RIGHT)
        seen.append(shown(d)[:2])
    assert seen == [(line.split(" = ")[0], line) for line in forward] + \
        [(e[0].split(" = ")[0][len("dL/d"):], "\n".join(e)) for e in entries]
    # the lesson's line, at the step of v going back
    assert seen[7] == ("v", "dL/dv = ∂L/∂v = 2v = 2 · 10 = 20")
    assert d.find_element(By.ID, "step-label").text == "step 11 of 11 · backward pass · w"
    press(d, Keys.ARROW_RIGHT)  # past the end: stays
    assert shown(d)[2] == 11
    assert shown(d)[3] == ["e0-1"]  # w's blame comes back along its edge into u
    press(d, Keys.ARROW_LEFT, 7)  # step 4: u computed from w and x
    name, line, step, edges = shown(d)
    assert (name, line, step) == ("u", "u = mul(w, x) = 6", 4)
    assert edges == ["e0-1", "e0-2"]
    near = {e.get_attribute("data-name") for e in d.find_elements(By.CSS_SELECTOR, "g.node.near")}
    assert near == {"w", "x"}
    # what is not computed yet is not shown: v's value at step 4, any gradient before backward
    v = d.find_element(By.CSS_SELECTOR, 'g.node[data-name="v"]')
    assert not v.find_element(By.CSS_SELECTOR, "text.val").is_displayed()
    assert v.find_element(By.CSS_SELECTOR, "text.val-pending").text == "value ?"
    u = d.find_element(By.CSS_SELECTOR, 'g.node[data-name="u"]')
    assert u.find_element(By.CSS_SELECTOR, "text.val").text == "value 6"
    assert not u.find_element(By.CSS_SELECTOR, "text.grad").is_displayed()
    press(d, Keys.END)
    assert shown(d)[2] == 11 and u.find_element(By.CSS_SELECTOR, "text.grad").text == "grad 20"
    press(d, Keys.HOME)
    assert shown(d)[:3] == (None, shown(d)[1], 0) and shown(d)[1].startswith("before the forward")
    # the buttons and the slider go the same way
    d.find_element(By.ID, "next").click()
    d.find_element(By.ID, "next").click()
    assert shown(d)[:3] == ("w", "w = 3   (param)", 2)
    slider = d.find_element(By.ID, "slider")
    d.execute_script("arguments[0].value = 8; arguments[0].dispatchEvent(new Event('input'))",
                     slider)
    assert shown(d)[:2] == ("v", "dL/dv = ∂L/∂v = 2v = 2 · 10 = 20")


def test_a_value_used_three_times_shows_every_use(browser, tmp_path):
    from selenium.webdriver.common.keys import Keys
    graph = tmp_path / "reuse.yaml"
    graph.write_text(REUSE)
    _, entries = explain_sections(call("explain", str(graph))[1])
    d = open_page(browser, tmp_path, graph)
    press(d, Keys.END)
    name, line, _, edges = shown(d)
    assert name == "s" and line == "\n".join(entries[-1])
    assert line.splitlines()[1] == "  via sq (mul, argument 1): dL/dsq · ∂sq/∂s = 3.5 · s = " \
        "3.5 · 2 = 7"
    assert sorted(edges) == ["e0-1", "e0-2", "e4-1"]  # both arguments of sq, and t's


def test_clicking_a_param_shows_its_paths_and_their_sum(browser, tmp_path):
    from selenium.webdriver.common.by import By
    graph = tmp_path / "reuse.yaml"
    graph.write_text(REUSE)
    expected = call("explain", str(graph), "--param", "s")[1]
    d = open_page(browser, tmp_path, graph)
    d.find_element(By.CSS_SELECTOR, 'g.node[data-name="s"]').click()
    assert d.find_element(By.ID, "paths").is_displayed()
    items = d.find_elements(By.CSS_SELECTOR, "#path-list li")
    assert len(items) == 3
    for item in items:  # each path's lines are explain's, word for word
        lines = item.text.splitlines()
        assert "  " + lines[0] + "\n  " + lines[1] in expected
    total = d.find_element(By.ID, "paths-total").text
    assert total == "dL/ds = 7 + 7 + 0.0706508 = 14.0707" and "  " + total in expected
    products = [float(item.text.split(" = ")[-1]) for item in items]
    grad = float(graphrun.run(graphrun.compile(str(graph))).grads["s"])
    assert sum(products) == pytest.approx(grad, rel=1e-5)
    on = {e.get_attribute("id") for e in d.find_elements(By.CSS_SELECTOR, "g.edge.onpath")}
    assert on == {"e0-1", "e0-2", "e1-2", "e2-1", "e3-1", "e5-1", "e4-1", "e5-2"}
    off = d.find_element(By.CSS_SELECTOR, 'g.node[data-name="X"]')
    assert float(off.value_of_css_property("opacity")) < 1  # not on any path: faded
    items[2].click()  # one path: s -> t -> L
    hl = {e.get_attribute("id") for e in d.find_elements(By.CSS_SELECTOR, "g.edge.pathhl")}
    assert hl == {"e4-1", "e5-2"}
    from selenium.webdriver.common.keys import Keys
    press(d, Keys.ESCAPE)
    assert not d.find_element(By.ID, "paths").is_displayed()
    assert d.find_elements(By.CSS_SELECTOR, "g.edge.onpath") == []


def test_a_small_tensor_shows_its_numbers_as_a_table(browser, tmp_path):
    from selenium.webdriver.common.by import By
    mlp = os.path.join(ROOT, "graphs", "mlp.yaml")
    d = open_page(browser, tmp_path, mlp)
    from selenium.webdriver.common.keys import Keys
    d.find_element(By.CSS_SELECTOR, 'g.node[data-name="W1"]').click()
    assert d.find_element(By.ID, "details").text.splitlines()[1:] == [
        "value: not computed yet (step 3)", "gradient: not known yet (step 22)"]
    press(d, Keys.END)  # every value and gradient known: both tables
    tables = d.find_elements(By.CSS_SELECTOR, "#details table.numbers")
    assert len(tables) == 2
    w1 = graphrun.run(graphrun.compile(mlp)).values["W1"]
    cells = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
             for tr in tables[0].find_elements(By.TAG_NAME, "tr")]
    assert cells == [[f"{x:.6g}" for x in row] for row in w1]
    colours = {td.value_of_css_property("background-color")
               for td in tables[0].find_elements(By.TAG_NAME, "td")}
    assert len(colours) > 4  # a heat map: each number its own shade


def test_the_page_renders_something_to_look_at(browser, tmp_path):
    Image = pytest.importorskip("PIL.Image", reason=HOW)
    from selenium.webdriver.common.keys import Keys
    d = open_page(browser, tmp_path, os.path.join(ROOT, "graphs", "simple.yaml"))
    press(d, Keys.ARROW_RIGHT, 8)
    image = Image.open(io.BytesIO(d.get_screenshot_as_png())).convert("RGB")
    width, height = image.size
    stage = image.crop((0, 60, width * 2 // 3, height - 60))  # the graph's part of the page
    colours = stage.getcolors(maxcolors=1 << 20)
    assert len(colours) > 50  # boxes, fills, text, the red and blue of the highlights
    white = max(count for count, colour in colours if colour == (255, 255, 255))
    assert white < 0.97 * stage.size[0] * stage.size[1]  # not a blank page
    red = sum(count for count, (r, g, b) in colours if r > 180 and g < 80 and b < 80)
    assert red > 200  # the backward step's highlight (v and its edge) is drawn


def test_five_hundred_nodes_step_and_follow(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    nodes = "\n".join(f"  x{i + 1}: {{op: {'mul' if i % 2 else 'add'}, args: [x{i}, "
                      f"{'w' if i % 2 else '0.5'}]}}" for i in range(500))
    graph = tmp_path / "chain.yaml"
    graph.write_text(f"graphrun: 1\nparams: {{x0: 1, w: 0.999}}\nnodes:\n{nodes}\nloss: x500\n")
    d = open_page(browser, tmp_path, graph)
    stage = d.find_element(By.ID, "stage").rect
    for key, name in ((Keys.END, "x0"), (Keys.HOME, None), (Keys.ARROW_RIGHT, "x0")):
        press(d, key)
        assert shown(d)[0] == name
    press(d, Keys.ARROW_RIGHT, 300)  # far along the chain: the stage has followed the step
    name, line, step, _ = shown(d)  # steps 1 and 2 are the params x0 and w, then x1, x2, ...
    assert (name, step) == ("x299", 301) and line.startswith("x299 = add(x298, 0.5) = ")
    box = d.find_element(By.CSS_SELECTOR, "g.node.current").rect
    assert stage["x"] <= box["x"] and box["x"] + box["width"] <= stage["x"] + stage["width"]
    assert stage["y"] <= box["y"] and box["y"] + box["height"] <= stage["y"] + stage["height"]
    label = d.find_element(By.ID, "step-label").text
    # 502 steps forward (2 params, 500 nodes; literals need none) and 502 back
    assert re.match(r"step 301 of 1004 · forward pass · x299$", label)
