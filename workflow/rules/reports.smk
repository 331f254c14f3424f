rule table1:
    input:
        train_outputs(),
    output:
        csv=report(f"{REPORTS}/table1.csv", caption="../report/table1.rst", category="Table 1"),
        md=f"{REPORTS}/table1.md",
        tex=f"{REPORTS}/table1.tex",
    params:
        python=PYTHON,
        runs=runs_root,
        selection=SELECTION,
        stem=lambda wildcards, output: os.path.splitext(output[0])[0],
    log:
        f"{REPORTS}/logs/table1.log",
    conda:
        ENV
    shell:
        "{params.python} -m agents report table1 --runs {params.runs} {params.selection} "
        "--out {params.stem} > {log} 2>&1"


rule verdict:
    input:
        train_outputs(),
    output:
        csv=report(f"{REPORTS}/verdict.csv", caption="../report/verdict.rst", category="Verdict"),
        md=f"{REPORTS}/verdict.md",
        tex=f"{REPORTS}/verdict.tex",
    params:
        python=PYTHON,
        runs=runs_root,
        selection=SELECTION,
        stem=lambda wildcards, output: os.path.splitext(output[0])[0],
        tolerance=config["verdict_tolerance"],
    log:
        f"{REPORTS}/logs/verdict.log",
    conda:
        ENV
    shell:
        "{params.python} -m agents report verdict --runs {params.runs} {params.selection} "
        "--tolerance {params.tolerance} --out {params.stem} > {log} 2>&1"


rule figure8:
    input:
        train_outputs(),
    output:
        png=report(f"{REPORTS}/figure8.png", caption="../report/figure8.rst", category="Figure 8"),
        pdf=f"{REPORTS}/figure8.pdf",
    params:
        python=PYTHON,
        runs=runs_root,
        selection=SELECTION,
        stem=lambda wildcards, output: os.path.splitext(output[0])[0],
    log:
        f"{REPORTS}/logs/figure8.log",
    conda:
        ENV
    shell:
        "{params.python} -m agents report figure8 --runs {params.runs} {params.selection} "
        "--out {params.stem} > {log} 2>&1"


rule aggregate:
    input:
        train_outputs(),
    output:
        csv=report(f"{REPORTS}/aggregate.csv", caption="../report/aggregate_table.rst", category="Aggregate"),
        md=f"{REPORTS}/aggregate.md",
        tex=f"{REPORTS}/aggregate.tex",
        png=report(f"{REPORTS}/aggregate.png", caption="../report/aggregate.rst", category="Aggregate"),
        pdf=f"{REPORTS}/aggregate.pdf",
    params:
        python=PYTHON,
        runs=runs_root,
        selection=SELECTION,
        stem=lambda wildcards, output: os.path.splitext(output[0])[0],
        reps=config["bootstrap_reps"],
    log:
        f"{REPORTS}/logs/aggregate.log",
    conda:
        ENV
    shell:
        "{params.python} -m agents report aggregate --runs {params.runs} {params.selection} "
        "--reps {params.reps} --out {params.stem} > {log} 2>&1"


rule interpret:
    """Key inversion, attention and saliency maps, t-SNE, latent interpolation and out-of-sample
    states of one game's i-DQN run."""
    input:
        idqn=first_seed_run("idqn"),
        ddqn=first_seed_run("ddqn"),
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
        idqn=lambda wildcards, input: os.path.dirname(input.idqn),
        extra=interpret_options,
        stem=lambda wildcards, output: os.path.splitext(output[0])[0],
    log:
        f"{REPORTS}/logs/interpret-{{game}}-{{kind}}.log",
    conda:
        ENV
    shell:
        "{params.python} -m agents interpret {wildcards.kind} --run {params.idqn} {params.extra} "
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


rule table2:
    input:
        variant_outputs("agreement.json"),
    output:
        csv=report(f"{REPORTS}/table2.csv", caption="../report/table2.rst", category="Table 2"),
        md=f"{REPORTS}/table2.md",
        tex=f"{REPORTS}/table2.tex",
    params:
        python=PYTHON,
        stem=lambda wildcards, output: os.path.splitext(output[0])[0],
    log:
        f"{REPORTS}/logs/table2.log",
    conda:
        ENV
    shell:
        "{params.python} -m agents report table2 --agreements {input} --reference data/paper/table2.csv "
        "--out {params.stem} > {log} 2>&1"


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
