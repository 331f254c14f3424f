# Every table and figure of agents/outputs.py, built by `python -m agents report {kind}`: one rule
# per file-type group (tables: csv/md/tex; figures: png/pdf; both), each with a {kind} wildcard
# for the outputs of its group. Their inputs, CLI options and caption come from that registry, so a
# new output needs no change here.
for formats, kinds in report_groups().items():

    rule:
        name:
            f"report_{'_'.join(formats)}"
        input:
            report_inputs,
        output:
            report_files(formats),
        wildcard_constraints:
            kind="|".join(kinds),
        params:
            python=PYTHON,
            arguments=report_arguments,
            caption=report_caption,  # shown by workflow/report/output.rst
            stem=lambda wildcards, output: os.path.splitext(output[0])[0],
        log:
            f"{REPORTS}/logs/{{kind}}.log",
        conda:
            ENV
        shell:
            "{params.python} -m agents report {wildcards.kind} {params.arguments} "
            "--out {params.stem} > {log} 2>&1"


rule interpret:
    """Key inversion, attention and saliency maps, t-SNE, latent interpolation and out-of-sample
    states of one game's i-DQN run."""
    input:
        unpack(interpret_inputs),
    output:
        png=report(
            f"{REPORTS}/interpret/{{game}}/{{kind}}.png",
            caption="../report/interpret.rst",
            category="Interpretability",
            subcategory="{game}",
        ),
        pdf=f"{REPORTS}/interpret/{{game}}/{{kind}}.pdf",
    wildcard_constraints:
        kind="|".join(INTERPRET_KINDS),
    params:
        python=PYTHON,
        run=lambda wildcards, input: os.path.dirname(input.run),
        extra=interpret_options,
        stem=lambda wildcards, output: os.path.splitext(output[0])[0],
    log:
        f"{REPORTS}/logs/interpret-{{game}}-{{kind}}.log",
    conda:
        ENV
    shell:
        "{params.python} -m agents interpret {wildcards.kind} --run {params.run} {params.extra} "
        "--out {params.stem} > {log} 2>&1"


rule agreement:
    """Agreement score of one Table 2 variant run, over its rollouts."""
    input:
        f"{RUNS}/table2/{{variant}}-{{input}}/summary.json",
    output:
        f"{RUNS}/table2/{{variant}}-{{input}}/agreement.json",
    params:
        python=PYTHON,
        run_dir=lambda wildcards, input: os.path.dirname(input[0]),
        rollouts=config["table2"]["rollouts"],
        max_steps=config["table2"]["max_steps"],
        stem=lambda wildcards, output: os.path.splitext(output[0])[0],
    log:
        f"{RUNS}/table2/{{variant}}-{{input}}/agreement.log",
    conda:
        ENV
    shell:
        "{params.python} -m agents interpret agreement --run {params.run_dir} --rollouts {params.rollouts} "
        "--max-steps {params.max_steps} --out {params.stem} > {log} 2>&1"


rule adversarial:
    """Out-of-sample states for a Table 2 MsPacman run: RAM edits and a pixel-wise max."""
    input:
        f"{RUNS}/table2/{{variant}}/summary.json",
    output:
        png=report(
            f"{REPORTS}/interpret/adversarial-{{variant}}.png",
            caption="../report/adversarial.rst",
            category="Interpretability",
        ),
        pdf=f"{REPORTS}/interpret/adversarial-{{variant}}.pdf",
    params:
        python=PYTHON,
        run_dir=lambda wildcards, input: os.path.dirname(input[0]),
        stem=lambda wildcards, output: os.path.splitext(output[0])[0],
    log:
        f"{REPORTS}/logs/adversarial-{{variant}}.log",
    conda:
        ENV
    shell:
        "{params.python} -m agents interpret adversarial --run {params.run_dir} --out {params.stem} > {log} 2>&1"


rule reconstructions:
    """Fig 6: the same states decoded by every Table 2 variant, a block of rows per input."""
    input:
        variant_outputs("summary.json"),
    output:
        png=report(
            f"{REPORTS}/interpret/reconstructions.png",
            caption="../report/variants.rst",
            category="Interpretability",
            subcategory="Table 2 variants",
        ),
        pdf=f"{REPORTS}/interpret/reconstructions.pdf",
    params:
        python=PYTHON,
        first=lambda wildcards, input: os.path.dirname(input[0]),
        others=lambda wildcards, input: " ".join(os.path.dirname(path) for path in input[1:]),
        stem=lambda wildcards, output: os.path.splitext(output[0])[0],
    log:
        f"{REPORTS}/logs/reconstructions.log",
    conda:
        ENV
    shell:
        "{params.python} -m agents interpret reconstructions --run {params.first} "
        "--variants {params.others} --out {params.stem} > {log} 2>&1"


rule agreeing:
    """Fig 5: states where a Table 2 run's action agrees with its decoded keys' suggestion."""
    input:
        f"{RUNS}/table2/{{variant}}/summary.json",
    output:
        png=report(
            f"{REPORTS}/interpret/agreeing-{{variant}}.png",
            caption="../report/variants.rst",
            category="Interpretability",
            subcategory="Table 2 variants",
        ),
        pdf=f"{REPORTS}/interpret/agreeing-{{variant}}.pdf",
    params:
        python=PYTHON,
        run_dir=lambda wildcards, input: os.path.dirname(input[0]),
        rollouts=config["table2"]["rollouts"],
        max_steps=config["table2"]["max_steps"],
        stem=lambda wildcards, output: os.path.splitext(output[0])[0],
    log:
        f"{REPORTS}/logs/agreeing-{{variant}}.log",
    conda:
        ENV
    shell:
        "{params.python} -m agents interpret agreeing --run {params.run_dir} --rollouts {params.rollouts} "
        "--max-steps {params.max_steps} --out {params.stem} > {log} 2>&1"


rule embedding:
    """Fig 2's claims as numbers: keys' distance to the states, top-key purity against DDQN's."""
    input:
        unpack(embedding_inputs),
    output:
        f"{REPORTS}/interpret/{{game}}/embedding.json",
    params:
        python=PYTHON,
        run=lambda wildcards, input: os.path.dirname(input.run),
        beside=lambda wildcards, input: (
            f"--ddqn-run {os.path.dirname(input.beside)}" if "beside" in input.keys() else ""
        ),
        stem=lambda wildcards, output: os.path.splitext(output[0])[0],
    log:
        f"{REPORTS}/logs/embedding-{{game}}.log",
    conda:
        ENV
    shell:
        "{params.python} -m agents interpret embedding --run {params.run} {params.beside} "
        "--out {params.stem} > {log} 2>&1"


rule attention_strip:
    """Consecutive steps of one episode of a game's first-seed attention run: each query's
    spatial attention over the frame, and the chosen action's perturbation saliency."""
    input:
        run=lambda wildcards: first_seed_run(ATTENTION, wildcards.game),
    output:
        png=report(
            f"{REPORTS}/interpret/{{game}}/attention-strip.png",
            caption="../report/attention.rst",
            category="Attention agent",
            subcategory="{game}",
        ),
        pdf=f"{REPORTS}/interpret/{{game}}/attention-strip.pdf",
    params:
        python=PYTHON,
        run=lambda wildcards, input: os.path.dirname(input.run),
        stem=lambda wildcards, output: os.path.splitext(output[0])[0],
    log:
        f"{REPORTS}/logs/attention-strip-{{game}}.log",
    conda:
        ENV
    shell:
        "{params.python} -m agents interpret attention-strip --run {params.run} "
        "--out {params.stem} > {log} 2>&1"


rule attention_video:
    """One episode of a game's first-seed attention run as a GIF, the maps overlaid."""
    input:
        run=lambda wildcards: first_seed_run(ATTENTION, wildcards.game),
    output:
        report_when_built(
            f"{REPORTS}/interpret/{{game}}/attention-video.gif",
            [path for path in attention_outputs() if path.endswith(".gif")],  # never committed
            caption="../report/attention.rst",
            category="Attention agent",
            subcategory="{game}",
        ),
    params:
        python=PYTHON,
        run=lambda wildcards, input: os.path.dirname(input.run),
        steps=ATTENTION_VIDEO_STEPS,
        stem=lambda wildcards, output: os.path.splitext(output[0])[0],
    log:
        f"{REPORTS}/logs/attention-video-{{game}}.log",
    conda:
        ENV
    shell:
        "{params.python} -m agents interpret attention-video --run {params.run} "
        "--max-steps {params.steps} --out {params.stem} > {log} 2>&1"
