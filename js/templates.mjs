// templates.mjs: chat templates. GGUF files carry a Jinja template in `tokenizer.chat_template`; like
// llama.cpp (llm_chat_detect_template) we do not interpret Jinja but recognise the family and
// render it natively. Supported: llama3, bitnet (BitNet b1.58 2B4T), chatml, and the llama2 family
// (llama2, llama2-sys, llama2-sys-bos, llama2-sys-strip). Anything else is a CHAT_TEMPLATE error that
// names the way out: pass `chatTemplate` (one of these names, or a function) to createEngine.
//
// The rendered text has no BOS: the tokenizer adds it as the model says (add_bos), and special-token
// texts in it (<|eot_id|>, <|im_start|>, ...) are parsed as the control tokens they name.

import { TritError } from './errors.mjs';

const trim = s => s.replace(/^\s+|\s+$/g, '');
const cap = s => s.charAt(0).toUpperCase() + s.slice(1);

function llama2Family(variant) {
    const sys = variant !== 'llama2', bosInside = variant === 'llama2-sys-bos', strip = variant === 'llama2-sys-strip';
    return msgs => {
        // llama.cpp's rendering: the first "[INST] " without BOS (the tokenizer adds it)
        let s = '[INST] ', inside = true;
        for (const m of msgs) {
            const c = strip ? trim(m.content) : m.content;
            if (!inside) { inside = true; s += bosInside ? '<s>[INST] ' : '[INST] '; }
            if (m.role === 'system') s += sys ? `<<SYS>>\n${c}\n<</SYS>>\n\n` : `${c}\n`;
            else if (m.role === 'user') s += `${c} [/INST]`;
            else { s += `${c}</s>`; inside = false; }
        }
        return s;
    };
}

/** name -> {render(messages, addGenerationPrompt), stop: texts that end a turn} */
export const TEMPLATES = Object.freeze({
    llama3: {
        render: (msgs, gen) => msgs.map(m => `<|start_header_id|>${m.role}<|end_header_id|>\n\n${trim(m.content)}<|eot_id|>`).join('') +
            (gen ? '<|start_header_id|>assistant<|end_header_id|>\n\n' : ''),
        stop: ['<|eot_id|>'],
    },
    // microsoft/bitnet-b1.58-2B-4T's tokenizer_config.json: "Role: content<|eot_id|>", generation
    // prompt "Assistant: " (the content is not trimmed there, so neither is it here)
    bitnet: {
        render: (msgs, gen) => msgs.map(m => `${cap(m.role)}: ${m.content}<|eot_id|>`).join('') + (gen ? 'Assistant: ' : ''),
        stop: ['<|eot_id|>'],
    },
    chatml: {
        render: (msgs, gen) => msgs.map(m => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('') +
            (gen ? '<|im_start|>assistant\n' : ''),
        stop: ['<|im_end|>'],
    },
    llama2: { render: llama2Family('llama2'), stop: [] },
    'llama2-sys': { render: llama2Family('llama2-sys'), stop: [] },
    'llama2-sys-bos': { render: llama2Family('llama2-sys-bos'), stop: [] },
    'llama2-sys-strip': { render: llama2Family('llama2-sys-strip'), stop: [] },
});

/**
 * The template family of a Jinja chat template (or a template name), or null if unknown. The rules
 * follow llama.cpp's llm_chat_detect_template for the families above.
 */
export function detectTemplate(tmpl) {
    if (typeof tmpl !== 'string' || tmpl.length === 0) return null;
    if (Object.prototype.hasOwnProperty.call(TEMPLATES, tmpl)) return tmpl;
    const has = s => tmpl.includes(s);
    if (has('<|im_start|>')) return has('<|im_sep|>') || has('<end_of_utterance>') ? null : 'chatml';
    if (tmpl.startsWith('mistral') || has('[INST]')) {
        if (has('[SYSTEM_PROMPT]') || has("' [INST] ' + system_message") || has('[AVAILABLE_TOOLS]')) return null;  // mistral
        if (has('content.strip()')) return 'llama2-sys-strip';
        if (has("bos_token + '[INST]")) return 'llama2-sys-bos';
        if (has('<<SYS>>')) return 'llama2-sys';
        return 'llama2';
    }
    if (has('<|start_header_id|>') && has('<|end_header_id|>')) return 'llama3';
    // BitNet 2B4T: the Hugging Face template, and the "Human: ... BITNETAssistant:" placeholder that
    // Microsoft's GGUF converter writes instead (the model was trained on the former)
    if ((has('<|eot_id|>') && has("'Assistant: '")) || has('BITNETAssistant')) return 'bitnet';
    return null;
}

/** Validates OpenAI-style messages into [{role, content: string}]. */
export function normalizeMessages(messages) {
    if (!Array.isArray(messages) || messages.length === 0) {
        throw new TritError('BAD_ARGUMENT', 'messages must be a non-empty array');
    }
    return messages.map((m, i) => {
        if (!m || typeof m !== 'object') throw new TritError('BAD_ARGUMENT', `messages[${i}] is not an object`);
        let role = m.role;
        if (role === 'developer') role = 'system';
        if (role !== 'system' && role !== 'user' && role !== 'assistant') {
            throw new TritError('BAD_ARGUMENT', `messages[${i}].role '${m.role}' is not supported (system, user, assistant)`);
        }
        let content = m.content;
        if (Array.isArray(content)) {
            content = content.map((p, j) => {
                if (p && p.type === 'text' && typeof p.text === 'string') return p.text;
                throw new TritError('UNSUPPORTED', `messages[${i}].content[${j}]: only text parts are supported`);
            }).join('');
        }
        if (content === null || content === undefined) content = '';
        if (typeof content !== 'string') throw new TritError('BAD_ARGUMENT', `messages[${i}].content must be a string`);
        return { role, content };
    });
}

/**
 * Resolves the template to use: opt (a name or a function (messages, {addGenerationPrompt, bos, eos})
 * -> string) wins over the model's own `tokenizer.chat_template` (gguf). Returns
 * {name, render(messages, addGenerationPrompt) -> string, stop: [texts]} or throws CHAT_TEMPLATE.
 */
export function resolveTemplate(opt, gguf, tokens = {}) {
    if (typeof opt === 'function') {
        return {
            name: 'custom',
            render: (msgs, gen) => {
                const s = opt(msgs, { addGenerationPrompt: gen, bos: tokens.bos || '', eos: tokens.eos || '' });
                if (typeof s !== 'string') throw new TritError('CHAT_TEMPLATE', 'the chatTemplate function must return a string');
                return s;
            },
            stop: [],
        };
    }
    if (opt !== undefined && opt !== null) {
        const name = detectTemplate(opt);
        if (!name) {
            throw new TritError('CHAT_TEMPLATE', `chatTemplate '${String(opt).slice(0, 60)}' is not one of ` +
                `${Object.keys(TEMPLATES).join(', ')} and not a template of their families; pass a function instead`);
        }
        return { name, ...TEMPLATES[name] };
    }
    if (!gguf) {
        throw new TritError('CHAT_TEMPLATE', 'the model has no tokenizer.chat_template; pass chatTemplate to createEngine ' +
            `(${Object.keys(TEMPLATES).join(', ')}, or a function (messages) => string), or use completions.create`);
    }
    const name = detectTemplate(gguf);
    if (!name) {
        throw new TritError('CHAT_TEMPLATE', `the model's chat template is not one trit knows (${Object.keys(TEMPLATES).join(', ')}); ` +
            'pass chatTemplate to createEngine: a name or a function (messages, {addGenerationPrompt, bos, eos}) => string',
        { details: { template: gguf.slice(0, 2000) } });
    }
    return { name, ...TEMPLATES[name] };
}
