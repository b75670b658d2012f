// Chat templates: known-answer renderings of each family, detection from Jinja templates as models
// ship them, the GGUF's tokenizer.chat_template used by the engine, a clear error for an unknown one,
// and the chatTemplate option (a name or a function).
import test from 'node:test';
import assert from 'node:assert/strict';
import { TEMPLATES, detectTemplate, resolveTemplate, normalizeMessages } from '../../js/templates.mjs';
import { createEngine } from '../../js/index-node.mjs';
import { model, ggufWithMetadata } from './helpers.mjs';

const MSGS = [
    { role: 'system', content: 'You are helpful.' },
    { role: 'user', content: 'Hi!' },
    { role: 'assistant', content: 'Hello.' },
    { role: 'user', content: '  How are you?  ' },
];

const KNOWN = {
    llama3: '<|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n',
    bitnet: 'System: You are helpful.<|eot_id|>User: Hi!<|eot_id|>Assistant: Hello.<|eot_id|>User:   How are you?  <|eot_id|>Assistant: ',
    chatml: '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n' +
        '<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\n  How are you?  <|im_end|>\n<|im_start|>assistant\n',
    llama2: '[INST] You are helpful.\nHi! [/INST]Hello.</s>[INST]   How are you?   [/INST]',
    'llama2-sys': '[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\nHi! [/INST]Hello.</s>[INST]   How are you?   [/INST]',
    'llama2-sys-bos': '[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\nHi! [/INST]Hello.</s><s>[INST]   How are you?   [/INST]',
    'llama2-sys-strip': '[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\nHi! [/INST]Hello.</s>[INST] How are you? [/INST]',
};

// Jinja templates in the shape the model families publish them (abridged to what detection reads)
const JINJA = {
    llama3: "{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'" +
        "+ message['content'] | trim + '<|eot_id|>' }}{%- endfor %}{%- if add_generation_prompt %}" +
        "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}",
    bitnet: "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}{% if message['role'] == 'user' %}" +
        "{{ 'User: ' + message['content'] + '<|eot_id|>' }}{% elif message['role'] == 'assistant' %}" +
        "{{ 'Assistant: ' + message['content'] + '<|eot_id|>' }}{% endif %}{% endfor %}" +
        "{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}",
    bitnetGguf: "{% for message in messages %}{% if message['role'] == 'user' %}{{ 'Human: ' + message['content'] + '\\n\\nBITNETAssistant: ' + eos_token }}" +
        "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}",
    chatml: "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}" +
        "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
    llama2: "{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}" +
        "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}",
    llama2sys: "{% if messages[0]['role'] == 'system' %}{% set system_message = '<<SYS>>\\n' + messages[0]['content'] + '\\n<</SYS>>\\n\\n' %}" +
        "{% endif %}{% for message in messages %}{{ '[INST] ' + system_message + message['content'] + ' [/INST]' }}{% endfor %}",
    llama2strip: "{% for message in messages %}{{ bos_token + '[INST] <<SYS>>' + content.strip() + ' [/INST]' }}{% endfor %}",
    mistralV7: "{{ bos_token }}{% for message in messages %}[SYSTEM_PROMPT]{{ message['content'] }}[/SYSTEM_PROMPT][INST]{% endfor %}",
    phi4: "{% for m in messages %}<|im_start|>{{ m['role'] }}<|im_sep|>{{ m['content'] }}<|im_end|>{% endfor %}",
    gemma: "{{ bos_token }}{% for message in messages %}<start_of_turn>{{ message['role'] }}\n{{ message['content'] }}<end_of_turn>{% endfor %}",
};

test('known-answer renderings', () => {
    const msgs = normalizeMessages(MSGS);
    for (const [name, want] of Object.entries(KNOWN)) assert.equal(TEMPLATES[name].render(msgs, true), want, name);
    // without the generation prompt
    assert.equal(TEMPLATES.llama3.render(msgs.slice(0, 2), false),
        '<|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>');
    assert.equal(TEMPLATES.bitnet.render([{ role: 'user', content: 'Hey, are you conscious? Can you talk to me?' }], true),
        'User: Hey, are you conscious? Can you talk to me?<|eot_id|>Assistant: ');
    assert.equal(TEMPLATES.chatml.render(msgs.slice(1, 2), true), '<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n');
});

test('detection from Jinja templates', () => {
    assert.equal(detectTemplate(JINJA.llama3), 'llama3');
    assert.equal(detectTemplate(JINJA.bitnet), 'bitnet');
    assert.equal(detectTemplate(JINJA.bitnetGguf), 'bitnet');
    assert.equal(detectTemplate(JINJA.chatml), 'chatml');
    assert.equal(detectTemplate(JINJA.llama2), 'llama2');
    assert.equal(detectTemplate(JINJA.llama2sys), 'llama2-sys');
    assert.equal(detectTemplate(JINJA.llama2strip), 'llama2-sys-strip');
    assert.equal(detectTemplate("{{ bos_token + '[INST] ' }}<<SYS>>"), 'llama2-sys-bos');
    for (const name of Object.keys(TEMPLATES)) assert.equal(detectTemplate(name), name);
    for (const k of ['mistralV7', 'phi4', 'gemma']) assert.equal(detectTemplate(JINJA[k]), null, k);
    assert.equal(detectTemplate(''), null);
    assert.equal(detectTemplate(undefined), null);
});

test('resolveTemplate: option beats the GGUF; unknown and missing ones are CHAT_TEMPLATE errors', () => {
    assert.equal(resolveTemplate(undefined, JINJA.chatml).name, 'chatml');
    assert.equal(resolveTemplate('llama3', JINJA.chatml).name, 'llama3');
    assert.throws(() => resolveTemplate(undefined, JINJA.gemma), e => e.code === 'CHAT_TEMPLATE' && /chatTemplate/.test(e.message));
    assert.throws(() => resolveTemplate(undefined, null), e => e.code === 'CHAT_TEMPLATE' && /chatTemplate/.test(e.message));
    assert.throws(() => resolveTemplate('vicuna', null), e => e.code === 'CHAT_TEMPLATE');
    const f = resolveTemplate((m, o) => `${o.bos}${m.map(x => x.content).join('|')}${o.addGenerationPrompt ? '>' : ''}`, JINJA.gemma, { bos: '<s>' });
    assert.equal(f.render(normalizeMessages(MSGS.slice(1, 3)), true), '<s>Hi!|Hello.>');
    assert.throws(() => resolveTemplate(() => 42, null).render([], true), e => e.code === 'CHAT_TEMPLATE');
});

test('messages are validated', () => {
    assert.deepEqual(normalizeMessages([{ role: 'developer', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }]),
        [{ role: 'system', content: 'ab' }]);
    assert.throws(() => normalizeMessages([]), e => e.code === 'BAD_ARGUMENT');
    assert.throws(() => normalizeMessages([{ role: 'tool', content: 'x' }]), e => e.code === 'BAD_ARGUMENT');
    assert.throws(() => normalizeMessages([{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }]), e => e.code === 'UNSUPPORTED');
    assert.throws(() => normalizeMessages([{ role: 'user', content: 5 }]), e => e.code === 'BAD_ARGUMENT');
});

test('the engine uses the GGUF\'s tokenizer.chat_template; an unknown one fails clearly; the option overrides', async () => {
    const withTmpl = t => ggufWithMetadata(model('bitnet-tiny-spm.tq2_0.gguf'), { 'tokenizer.chat_template': t });
    const e = await createEngine({ model: withTmpl(JINJA.llama3) });
    const u = await createEngine({ model: withTmpl(JINJA.gemma) });
    const o = await createEngine({ model: withTmpl(JINJA.gemma), chatTemplate: (m) => m.map(x => `${x.role}: ${x.content}\n`).join('') + 'assistant:' });
    try {
        assert.equal(e.info.model.chat_template, JINJA.llama3);
        assert.equal(e.applyChatTemplate(MSGS), KNOWN.llama3);
        const r = await e.chat.completions.create({ messages: MSGS, max_tokens: 4, temperature: 0 });
        assert.equal(r.usage.prompt_tokens, (await e.tokenize(KNOWN.llama3, { parseSpecial: true })).length);
        await assert.rejects(u.chat.completions.create({ messages: MSGS, max_tokens: 2 }),
            err => err.code === 'CHAT_TEMPLATE' && /chatTemplate/.test(err.message));
        assert.equal(o.applyChatTemplate(MSGS.slice(1, 2)), 'user: Hi!\nassistant:');
        const r2 = await o.chat.completions.create({ messages: MSGS.slice(1, 2), max_tokens: 3, temperature: 0 });
        assert.equal(r2.usage.prompt_tokens, (await o.tokenize('user: Hi!\nassistant:', { parseSpecial: true })).length);
    } finally {
        await Promise.all([e.unload(), u.unload(), o.unload()]);
    }
});
