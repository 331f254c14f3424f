# Every table and figure of agents/outputs.py: one generic rule per kind of input (the runs, the
# agreements, one game's run, one or all Table 2 runs, a study's runs) and file types, each with a
# {kind} wildcard for the outputs of its group, running `python -m agents <command> {kind}`. Their
# inputs, CLI options, captions and targets come from that registry (agents/pipeline.py), so a new
# output needs no change here.
for (needs, in_run, formats), kinds in rule_groups().items():

    rule:
        name:
            output_rule_name(needs, in_run, formats)
        input:
            unpack(lambda wildcards, needs=needs: inputs(config, needs, wildcards)),
        output:
            output_files(needs, in_run, formats, kinds),
        wildcard_constraints:
            kind=wildcard_choices(kinds),
            game=wildcard_choices(all_games()),
            variant=wildcard_choices(os.path.basename(run) for run in variant_runs(config)),
            study=wildcard_choices(STUDIES),
        params:
            python=PYTHON,
            command=lambda wildcards: OUTPUTS[wildcards.kind].command,
            arguments=lambda wildcards, input, needs=needs: arguments(config, needs, wildcards, input),
            caption=report_caption,  # shown by workflow/report/output.rst
            stem=lambda wildcards, output: os.path.splitext(output[0])[0],
        log:
            f"{REPORTS}/logs/{{kind}}{LOG_NAMES.get(needs, '')}.log",
        conda:
            ENV
        shell:
            "{params.python} -m agents {params.command} {wildcards.kind} {params.arguments} "
            "--out {params.stem} > {log} 2>&1"
